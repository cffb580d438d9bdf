namespace RbdPlugin.Node;

/// <summary>The few facts about this host the data plane asks (paths, sysfs files, programs on PATH, processes); faked in tests.</summary>
internal interface IHostProbe
{
    /// <summary>True when a file, directory or device node exists at the path.</summary>
    bool Exists(string path);

    /// <summary>The file's text, or null when it does not exist.</summary>
    string? ReadFile(string path);

    /// <summary>True when an executable of that name is found on PATH.</summary>
    bool HasProgram(string name);

    /// <summary>Ids of the running processes of that program (by file name) with that exact argument.</summary>
    IReadOnlyList<int> FindProcesses(string program, string argument);
}
