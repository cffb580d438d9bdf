namespace RbdPlugin.Ceph;

/// <summary>The Linux errno values librados and librbd return (negated) that we act on.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int ERANGE = 34;
    public const int ENOTEMPTY = 39;
    public const int ENODATA = 61;
    public const int ENOTCONN = 107;
    public const int ESHUTDOWN = 108;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int ECONNRESET = 104;
    public const int EBLOCKLISTED = 108;

    private static readonly Dictionary<int, string> Names = new()
    {
        [EPERM] = "EPERM (operation not permitted: check the client's caps)",
        [ENOENT] = "ENOENT (no such image, pool or object)",
        [EINTR] = "EINTR (interrupted)",
        [EIO] = "EIO (I/O error)",
        [EAGAIN] = "EAGAIN (try again)",
        [EACCES] = "EACCES (permission denied: check the client's caps and keyring)",
        [EBUSY] = "EBUSY (image in use)",
        [EEXIST] = "EEXIST (already exists)",
        [EINVAL] = "EINVAL (invalid argument)",
        [ERANGE] = "ERANGE (value out of range)",
        [ENOTEMPTY] = "ENOTEMPTY (image has snapshots or children)",
        [ENODATA] = "ENODATA (no such key)",
        [ENOTCONN] = "ENOTCONN (not connected to the cluster)",
        [ESHUTDOWN] = "ESHUTDOWN (client blocklisted or shut down)",
        [ETIMEDOUT] = "ETIMEDOUT (the cluster did not answer in time)",
        [ECONNREFUSED] = "ECONNREFUSED (cannot reach the monitors)",
        [ECONNRESET] = "ECONNRESET (connection reset)",
    };

    public static string Describe(int errno) => Names.TryGetValue(errno, out var name) ? name : $"errno {errno}";
}
