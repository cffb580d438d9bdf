using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Each volume's lease object <c>rbd-plugin.lease.NAME</c> in the index pool: an expiring exclusive RADOS lock
/// taken with this host's cookie (<see cref="LeaseIdentity"/>), and the owner record (omap key
/// <see cref="OwnerKey"/>) kept while the lock is held. The lease types (acquire, renew, fence, retire, inspect)
/// all reach the cluster through here.
/// </summary>
internal sealed partial class LeaseObjects(
    IRadosLocks locks,
    IRadosOmap omap,
    LeaseIdentity identity,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<LeaseObjects> logger)
{
    public const string LockName = "rbd-plugin-lease";
    public const string OwnerKey = "owner";

    /// <summary>This host's lock cookie: "HOSTID/TOKEN".</summary>
    public string Cookie => identity.Cookie;

    public static string ObjectNameOf(string volume) => $"rbd-plugin.lease.{volume}";

    public RadosObject ObjectOf(string volume) => new(settings.Pool, settings.Namespace, ObjectNameOf(volume));

    /// <summary>Takes (or, with <see cref="LockMode.Renew"/>, extends) our lock for one lease duration.</summary>
    public Task<bool> LockAsync(string name, LockMode mode, CancellationToken ct) =>
        locks.LockExclusiveAsync(ObjectOf(name), LockName, Cookie, Description(), settings.LeaseDuration, mode, ct);

    /// <summary><see cref="LockAsync"/> as one attempt on the caller's thread (the renewer's own threads).</summary>
    public bool LockNow(string name, LockMode mode) =>
        locks.LockExclusiveNow(ObjectOf(name), LockName, Cookie, Description(), settings.LeaseDuration, mode);

    public Task<IReadOnlyList<Locker>> ListHoldersAsync(string name, CancellationToken ct) =>
        locks.ListLockersAsync(ObjectOf(name), LockName, ct);

    public Task BreakAsync(string name, Locker holder, CancellationToken ct) =>
        locks.BreakLockAsync(ObjectOf(name), LockName, holder, ct);

    public Task UnlockAsync(string name, CancellationToken ct) => locks.UnlockAsync(ObjectOf(name), LockName, Cookie, ct);

    /// <summary>Unlocks; a failure is logged, not thrown: the lock lapses by itself.</summary>
    public async Task UnlockQuietlyAsync(string name)
    {
        try
        {
            await UnlockAsync(name, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogUnlockFailed(e, name);
        }
    }

    public async Task<LeaseRecord?> ReadRecordAsync(string name, CancellationToken ct) =>
        LeaseRecord.FromJson(await omap.ReadOmapKeyAsync(ObjectOf(name), OwnerKey, ct));

    public Task WriteRecordAsync(string name, LeaseRecord record, CancellationToken ct) =>
        omap.SetOmapKeyAsync(ObjectOf(name), OwnerKey, (record with { Mountpoint = Path.Combine(settings.MountRoot, name) }).ToJson(), ct);

    public Task RemoveRecordAsync(string name, CancellationToken ct) => omap.RemoveOmapKeyAsync(ObjectOf(name), OwnerKey, ct);

    /// <summary>Deletes the object with its lock and record. Idempotent.</summary>
    public Task RemoveObjectAsync(string name, CancellationToken ct) => omap.RemoveObjectAsync(ObjectOf(name), ct);

    private string Description() => $"{{\"hostId\":\"{identity.HostId}\",\"since\":\"{Rfc3339.Format(time.GetUtcNow())}\"}}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: unlock failed; it lapses by itself")]
    private partial void LogUnlockFailed(Exception e, string volume);
}
