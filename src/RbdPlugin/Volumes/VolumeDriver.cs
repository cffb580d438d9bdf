using System.Collections.Concurrent;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// The nine Docker verbs over Ceph and this host. Each verb runs under its volume's lock; multi-step verbs undo
/// finished steps on failure; the journal is on disk before a verb that changed it returns. A volume is mapped
/// only under its ownership lease (<see cref="LeaseKeeper"/>), which outlives the mapping. The verbs live in
/// partial files named after them.
/// </summary>
internal sealed partial class VolumeDriver(
    ICephCluster ceph,
    VolumeCatalog catalog,
    MountJournal journal,
    MapperSet mappers,
    IFilesystem filesystem,
    VolumeSettings settings,
    LeaseKeeper leases,
    TimeProvider time,
    ILogger<VolumeDriver> logger) : IVolumeDriver, IDisposable
{
    private readonly VolumeLocks _locks = new();
    private readonly VolumeStore _store = new(ceph, catalog, settings, time, logger);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _pendingReleases = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly HostFence _fence = new(settings, time, logger);
    private int _disposed;

    /// <summary>Whether another host fenced this daemon (then every verb fails at once).</summary>
    internal HostFence Fence => _fence;

    /// <inheritdoc />
    public async Task<VolumeInfo?> GetAsync(string name, CancellationToken ct)
    {
        if (!VolumeName.IsValid(name))
        {
            return null;
        }

        var record = await GuardAsync($"get {name}", () => catalog.GetAsync(name, ct));
        if (record is null)
        {
            return null;
        }

        // The peek keeps Get honest when the image was deleted behind our back (Docker then sends Create again) and
        // shows its size now; the lease read does not depend on it, so both go out at once.
        var imageRead = GuardAsync($"get {name}", () => ceph.PeekImageAsync(record.Image, ct));
        var leaseRead = GuardAsync($"get {name}", () => leases.InspectAsync(name, ct));
        await Task.WhenAll(imageRead, leaseRead);
        var (image, lease) = (imageRead.Result, leaseRead.Result);
        if (image is null)
        {
            return null;
        }

        var entry = journal.Get(name);
        return new VolumeInfo(name, entry?.Mountpoint, record.CreatedAt, VolumeStatus.Of(record, image, entry, settings.HostId, lease));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<VolumeSummary>> ListAsync(CancellationToken ct)
    {
        var names = await GuardAsync("list volumes", () => catalog.ListNamesAsync(ct));
        return names.Where(VolumeName.IsValid).Order(StringComparer.Ordinal)
            .Select(name => new VolumeSummary(name, journal.Get(name)?.Mountpoint))
            .ToList();
    }

    /// <inheritdoc />
    public async Task<string?> PathAsync(string name, CancellationToken ct)
    {
        _fence.ThrowIfFenced(); // its mounts are being released
        if (journal.Get(name) is { } entry)
        {
            return entry.Mountpoint;
        }

        _ = await RequireRecordAsync(name, ct);
        return null;
    }

    public void Dispose()
    {
        // DI disposes the driver once per registration (as itself and as IVolumeDriver).
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _shutdown.Cancel();
        _shutdown.Dispose();
        _fence.Dispose();
        foreach (var pending in _pendingReleases.Values)
        {
            pending.Cancel();
        }
    }

    private async Task<VolumeRecord> RequireRecordAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        return await GuardAsync($"look up {name}", () => catalog.GetAsync(name, ct)) ?? throw NoSuchVolume(name);
    }

    private static VolumeException NoSuchVolume(string name) =>
        new(VolumeErrorKind.NotFound, $"no such volume: {name}; create it with `docker volume create -d rbd {name}`");

    private string MountpointOf(string name) => Path.Combine(settings.MountRoot, name);
}
