namespace RbdPlugin.Node;

/// <summary>The few facts about this host the data plane asks (paths, sysfs files, programs on PATH); faked in tests.</summary>
internal interface IHostProbe
{
    /// <summary>True when a file, directory or device node exists at the path.</summary>
    bool Exists(string path);

    /// <summary>The file's text, or null when it does not exist.</summary>
    string? ReadFile(string path);

    /// <summary>True when an executable of that name is found on PATH.</summary>
    bool HasProgram(string name);

    /// <summary>PIDs of the running processes started as PROGRAM ... LAST_ARGUMENT (by /proc/PID/cmdline); fakes see none.</summary>
    IReadOnlyList<int> FindProcesses(string program, string lastArgument) => [];

    /// <summary>True while the process runs (a zombie counts as ended).</summary>
    bool IsRunning(int pid) => false;
}
