namespace RbdPlugin.Volumes;

/// <summary>
/// Who takes leases: the host id plus a token, together the lock cookie "HOSTID/TOKEN". The daemon's token is made
/// once per state dir and kept, so a restarted daemon recognises — and re-takes — its own lock, while a second
/// host misconfigured with the same id does not. A runbook command gets a throwaway identity of its own
/// (<see cref="ForCommand"/>): a takeover run on the owning host must fence that daemon, not mistake its lock for
/// a restart of itself.
/// </summary>
internal sealed record LeaseIdentity(string HostId, string Token)
{
    public string Cookie => $"{HostId}/{Token}";

    /// <summary>The host id in a cookie (what error messages and Status name).</summary>
    public static string HostOf(string cookie) => cookie.Split('/')[0];

    /// <summary>The daemon's identity: its token is read from StateDir/lease-token, made there the first time.</summary>
    public static LeaseIdentity ForDaemon(string hostId, string stateDir)
    {
        var path = Path.Combine(stateDir, "lease-token");
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } existing)
        {
            return new LeaseIdentity(hostId, existing);
        }

        Directory.CreateDirectory(stateDir);
        var token = NewToken();
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(token));
        return new LeaseIdentity(hostId, token);
    }

    /// <summary>A runbook command's own identity, "HOSTID.cli/RANDOM", never the daemon's.</summary>
    public static LeaseIdentity ForCommand(string hostId) => new(hostId + ".cli", NewToken());

    private static string NewToken() => Guid.NewGuid().ToString("N")[..12];
}
