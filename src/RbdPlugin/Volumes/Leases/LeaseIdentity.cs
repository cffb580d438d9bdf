using System.Security.Cryptography;
using System.Text;

namespace RbdPlugin.Volumes;

/// <summary>
/// Who takes leases: the host id plus a token, together the lock cookie "HOSTID/TOKEN". A lock with our cookie is
/// provably ours, so a restarted daemon takes it back without fencing anyone. That is only safe if nobody else can
/// have the same cookie, so the daemon's token binds three things: a random value made once and kept in the state
/// dir (a second daemon misconfigured with the same host id has another), this machine's /etc/machine-id, and this
/// boot's id (a VM cloned from this one, state dir included, boots with another boot id; and so does this host
/// after a reboot, when nothing of the old mounts survives anyway). A runbook command gets a throwaway identity of
/// its own (<see cref="ForCommand"/>): a takeover run on the owning host must fence that daemon, not mistake its
/// lock for a restart of itself.
/// </summary>
internal sealed record LeaseIdentity(string HostId, string Token)
{
    public const string MachineIdPath = "/etc/machine-id";
    public const string BootIdPath = "/proc/sys/kernel/random/boot_id";

    public string Cookie => $"{HostId}/{Token}";

    /// <summary>The host id in a cookie (what error messages and Status name).</summary>
    public static string HostOf(string cookie) => cookie.Split('/')[0];

    /// <summary>The daemon's identity on this machine and boot, with the state dir's random value (made the first time).</summary>
    public static LeaseIdentity ForDaemon(string hostId, string stateDir) =>
        ForDaemon(hostId, stateDir, ReadOrEmpty(MachineIdPath), ReadOrEmpty(BootIdPath));

    /// <summary><see cref="ForDaemon(string, string)"/> with the machine and boot ids given (tests).</summary>
    public static LeaseIdentity ForDaemon(string hostId, string stateDir, string machineId, string bootId)
    {
        var random = StateDirToken(stateDir);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{machineId}\n{bootId}\n{random}"));
        return new LeaseIdentity(hostId, Convert.ToHexStringLower(hash)[..16]);
    }

    /// <summary>A runbook command's own identity, "HOSTID.cli/RANDOM", never the daemon's.</summary>
    public static LeaseIdentity ForCommand(string hostId) => new(hostId + ".cli", NewToken());

    private static string StateDirToken(string stateDir)
    {
        var path = Path.Combine(stateDir, "lease-token");
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } existing)
        {
            return existing;
        }

        Directory.CreateDirectory(stateDir);
        var token = NewToken();
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(token));
        return token;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ""; // a container without /etc/machine-id: the boot id and the state dir's token still bind it
        }
    }

    private static string NewToken() => Guid.NewGuid().ToString("N")[..12];
}
