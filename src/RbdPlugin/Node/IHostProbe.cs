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

    /// <summary>The first <paramref name="count"/> bytes of a file or device (fewer when it is shorter).</summary>
    byte[] ReadHead(string path, int count);

    /// <summary>
    /// <paramref name="count"/> bytes from <paramref name="offset"/> read straight from the device (O_DIRECT, never
    /// the page cache; both multiples of 4096), fewer at its end. Throws <see cref="IOException"/> when the device
    /// cannot be read: an I/O error is an error here, never "nothing there".
    /// </summary>
    byte[] ReadDirect(string path, long offset, int count);

    /// <summary>A block device's size in bytes as the kernel sees it now (sysfs), following symlinks such as /dev/rbd/POOL/IMAGE.</summary>
    ulong BlockDeviceSize(string device);

    /// <summary>True while the process runs (a zombie counts as ended).</summary>
    bool IsRunning(int pid);

    /// <summary>
    /// True when a block device is held open exclusively (a mounted filesystem, device-mapper, or another O_EXCL
    /// opener, in any mount namespace): the kernel refuses an O_EXCL open with EBUSY. False when it is free or gone.
    /// </summary>
    bool IsInUse(string device);

    /// <summary>True when a unix socket at the path accepts a connection now (a live server, not a stale file).</summary>
    bool AcceptsConnections(string unixSocketPath);
}
