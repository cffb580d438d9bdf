using System.Collections.Concurrent;
using System.Globalization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Ownership of volumes across hosts: one expiring exclusive RADOS lock per volume (object
/// <c>rbd-plugin.lease.NAME</c> in the index pool), renewed every third of its duration through the daemon's
/// long-lived connection. A dead owner's lock lapses on the OSD by itself; the next owner then fences whatever the
/// old one could still write with (its daemon client and every watcher of the image) before it maps. The cookie is
/// the host id plus a token kept in the state dir, so a restarted daemon recognises — and re-takes — its own lock,
/// while a second host misconfigured with the same id does not. The parts live in files named for what they do:
/// taking and giving back (Acquire), renewing (Renewal), fencing and forced takeover (Fencing), what Status shows
/// (Inspect) and deleting the object with its volume (Retire).
/// </summary>
internal sealed partial class LeaseKeeper : IDisposable
{
    public const string LockName = "rbd-plugin-lease";
    public const string OwnerKey = "owner";

    private readonly ICephCluster _ceph;
    private readonly VolumeSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<LeaseKeeper> _logger;
    private readonly ConcurrentDictionary<string, HeldLease> _held = new(StringComparer.Ordinal);

    public LeaseKeeper(ICephCluster ceph, VolumeSettings settings, TimeProvider time, ILogger<LeaseKeeper> logger)
    {
        _ceph = ceph;
        _settings = settings;
        _time = time;
        _logger = logger;
        Cookie = $"{settings.HostId}/{HostToken(settings.StateDir)}";
    }

    /// <summary>This host's lock cookie: "HOSTID/TOKEN".</summary>
    public string Cookie { get; }

    public static string ObjectOf(string volume) => $"rbd-plugin.lease.{volume}";

    /// <summary>Volumes whose lease this daemon renews now.</summary>
    public IReadOnlyCollection<string> Held => _held.Keys.ToList();

    /// <summary>Raised on each fence, takeover and loss (after its log line), for the metrics.</summary>
    public event Action<LeaseEvent>? Changed;

    public void Dispose()
    {
        foreach (var name in _held.Keys)
        {
            Forget(name);
        }
    }

    private Task<bool> TryLockAsync(string name, CancellationToken ct) =>
        _ceph.LockExclusiveAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, Cookie, Description(),
            _settings.LeaseDuration, LockMode.Acquire, ct);

    private Task<IReadOnlyList<Locker>> ListHoldersAsync(string name, CancellationToken ct) =>
        _ceph.ListLockersAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, ct);

    private Task BreakAsync(string name, Locker holder, CancellationToken ct) =>
        _ceph.BreakLockAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, holder, ct);

    private string Description() =>
        $"{{\"hostId\":\"{_settings.HostId}\",\"since\":\"{Format(_time.GetUtcNow())}\"}}";

    private async Task<LeaseRecord?> ReadRecordAsync(string name, CancellationToken ct) =>
        LeaseRecord.FromJson(await _ceph.ReadOmapKeyAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), OwnerKey, ct));

    private Task WriteRecordAsync(string name, LeaseRecord record, CancellationToken ct) =>
        _ceph.SetOmapKeyAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), OwnerKey,
            (record with { Mountpoint = Path.Combine(_settings.MountRoot, name) }).ToJson(), ct);

    private Task RemoveRecordAsync(string name, CancellationToken ct) =>
        _ceph.RemoveOmapKeyAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), OwnerKey, ct);

    private async Task UnlockQuietlyAsync(string name)
    {
        try
        {
            await _ceph.UnlockAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, Cookie, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogUnlockFailed(e, name);
        }
    }

    private static string HostOf(string cookie) => cookie.Split('/')[0];

    private static string Format(DateTimeOffset when) => when.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A random token per state dir, made once: tells this host's locks from a namesake's.</summary>
    private static string HostToken(string stateDir)
    {
        var path = Path.Combine(stateDir, "lease-token");
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }

        Directory.CreateDirectory(stateDir);
        var token = Guid.NewGuid().ToString("N")[..12];
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(token));
        return token;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: unlock failed; it lapses by itself")]
    private partial void LogUnlockFailed(Exception e, string volume);
}
