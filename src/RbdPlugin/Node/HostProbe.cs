namespace RbdPlugin.Node;

/// <summary>The real host, through the filesystem.</summary>
internal sealed partial class HostProbe : IHostProbe
{
    public bool Exists(string path) => Path.Exists(path);

    public string? ReadFile(string path) => ReadFileOrNull(path);

    private static string? ReadFileOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
                                       or IOException)
        {
            // Also a /proc entry of a process that exited meanwhile (ESRCH surfaces as an IOException).
            return null;
        }
    }

    public bool IsRunning(int pid)
    {
        // /proc/PID/stat: "PID (COMM) STATE ..."; COMM may hold spaces and parentheses, so read after the last ')'.
        var stat = ReadFileOrNull($"/proc/{pid}/stat");
        return stat is not null && stat[(stat.LastIndexOf(')') + 1)..].TrimStart() is [not 'Z' and not 'X', ..];
    }

    public bool HasProgram(string name) =>
        SearchPath.Current
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .Any(candidate => File.Exists(candidate) && !OperatingSystem.IsWindows()
                && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    public IReadOnlyList<int> FindProcesses(string program, string argument)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            // argv, NUL-separated; empty for kernel threads and zombies, gone when the process just exited.
            var argv = ReadFile(Path.Combine(dir, "cmdline"))?.Split('\0', StringSplitOptions.RemoveEmptyEntries) ?? [];
            if (argv.Length > 0 && Path.GetFileName(argv[0]) == program && argv.Contains(argument, StringComparer.Ordinal))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    public byte[] ReadHead(string path, int count)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[count];
        var read = 0;
        while (read < count && RandomAccess.Read(handle, buffer.AsSpan(read), read) is var n and > 0)
        {
            read += n;
        }

        return buffer[..read];
    }

    public byte[] ReadDirect(string path, long offset, int count) => DirectRead.Read(path, offset, count);

    public ulong BlockDeviceSize(string device)
    {
        var resolved = new FileInfo(device).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? device;
        // /sys/class/block/NAME/size counts 512-byte sectors, whatever the device's logical block size.
        var sysfs = $"/sys/class/block/{Path.GetFileName(resolved)}/size";
        if (!File.Exists(sysfs) && resolved.StartsWith("/dev/mapper/", StringComparison.Ordinal) && DmKernelName(Path.GetFileName(resolved)) is { } dm)
        {
            // Without udev, device-mapper makes /dev/mapper/NAME a device node of its own, not a link to dm-N.
            sysfs = $"/sys/class/block/{dm}/size";
        }

        var text = ReadFile(sysfs) ?? throw new HostCommandException($"cannot read the size of {device}: {sysfs} does not exist");
        return ulong.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
    }

    /// <summary>The kernel's name (dm-N) of the device-mapper device named <paramref name="name"/>, or null.</summary>
    private static string? DmKernelName(string name) =>
        Directory.Exists("/sys/block")
            ? Directory.EnumerateDirectories("/sys/block", "dm-*")
                .FirstOrDefault(d => File.Exists(Path.Combine(d, "dm", "name")) && File.ReadAllText(Path.Combine(d, "dm", "name")).Trim() == name) is { } dir
                ? Path.GetFileName(dir)
                : null
            : null;
}
