namespace RbdPlugin.Node;

/// <summary>The real host, through the filesystem.</summary>
internal sealed class HostProbe : IHostProbe
{
    public bool Exists(string path) => Path.Exists(path);

    public string? ReadFile(string path) => ReadFileOrNull(path);

    private static string? ReadFileOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        // A process can end between listing /proc and reading its files (ESRCH surfaces as an IOException).
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return null;
        }
    }

    public IReadOnlyList<int> FindProcesses(string program, string lastArgument)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            var argv = (ReadFileOrNull(Path.Combine(dir, "cmdline")) ?? "").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            if (argv.Length > 1 && Path.GetFileName(argv[0]) == program && argv[^1] == lastArgument)
            {
                found.Add(pid);
            }
        }
        return found;
    }

    public bool IsRunning(int pid)
    {
        // /proc/PID/stat: "PID (COMM) STATE ..."; COMM may hold spaces and parentheses, so read after the last ')'.
        var stat = ReadFileOrNull($"/proc/{pid}/stat");
        return stat is not null && stat[(stat.LastIndexOf(')') + 1)..].TrimStart() is [not 'Z' and not 'X', ..];
    }

    public bool HasProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .Any(candidate => File.Exists(candidate) && !OperatingSystem.IsWindows()
                && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
}
