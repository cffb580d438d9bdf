using System.Globalization;

namespace RbdPlugin.Volumes;

/// <summary>
/// Whether another host has fenced this daemon: blocklisted its Ceph client while taking over one of its volumes.
/// A fenced client can never talk to the OSDs again, so from the moment this daemon notices, every verb fails at
/// once with what happened and what to do, instead of waiting on a volume lock held by the release of a volume
/// whose mapping hangs, or on Ceph calls that can only fail. Only a restart (a new client) ends it.
/// </summary>
internal sealed partial class HostFence(VolumeSettings settings, TimeProvider time, ILogger<HostFence> logger) : IDisposable
{
    private readonly CancellationTokenSource _fenced = new();
    private string? _message;

    public bool IsFenced => Volatile.Read(ref _message) is not null;

    /// <summary>Cancelled when the fence is noticed: ends waits that could otherwise outlast a request.</summary>
    public CancellationToken Token => _fenced.Token;

    /// <summary>Records the fence the first time it is noticed; true then (the caller releases this host's volumes).</summary>
    public bool Notice(string clientAddress, string how)
    {
        var at = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var message =
            $"this host ({settings.HostId}) was fenced: another host blocklisted its Ceph client {clientAddress} to take over its volumes " +
            $"(noticed at {at}, {how}). Its volumes were released here and now belong to the host that took them over " +
            "(`rbd-plugin volume inspect NAME` names it). Restart the rbd-plugin daemon on this host: a restart connects a new, unfenced client; " +
            "it does not take the volumes back";
        if (Interlocked.CompareExchange(ref _message, message, null) is not null)
        {
            return false;
        }

        LogFenced(settings.HostId, clientAddress, how);
        _fenced.Cancel();
        return true;
    }

    /// <summary>The error every verb returns once fenced.</summary>
    public VolumeException Error() => new(VolumeErrorKind.Unavailable, Volatile.Read(ref _message) ?? "this host was fenced");

    public void ThrowIfFenced()
    {
        if (IsFenced)
        {
            throw Error();
        }
    }

    public void Dispose() => _fenced.Dispose();

    [LoggerMessage(Level = LogLevel.Critical, Message = "This host ({HostId}) was FENCED: its Ceph client {Address} is blocklisted ({How}). " +
        "Every volume mounted here is being released and every request fails until the daemon is restarted")]
    private partial void LogFenced(string hostId, string address, string how);
}
