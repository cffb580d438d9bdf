using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Admin;
using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>
/// What <c>snapshot create|ls|rm|rollback</c>, <c>volume clone</c> and <c>volume resize</c> do. Ceph work happens
/// here; what needs the mounted filesystem (freeze around a snapshot, online grow) is asked of this host's daemon
/// over its admin socket when this host owns the volume, and refused with the owner's name when another host does.
/// </summary>
internal sealed class SnapshotOperations(ICephCluster ceph, VolumeSettings settings, LeaseKeeper leases, TimeProvider time, string adminSocket)
{
    /// <summary>Bounds one admin call: the daemon's freeze (30 s) and snapshot limit (10 s), plus Ceph's own.</summary>
    private static readonly TimeSpan AdminTimeout = TimeSpan.FromSeconds(90);

    private readonly VolumeStore _store = new(ceph, new VolumeCatalog(ceph, settings), settings, time, NullLogger.Instance);

    private VolumeSnapshots Snapshots => new(ceph, new VolumeCatalog(ceph, settings), _store, leases);

    /// <summary>
    /// Mounted on this host: the daemon freezes, snapshots, thaws. Mounted on another: refused, naming it. Not
    /// mounted: taken here. Idempotent: an existing snapshot is reported with <c>created: false</c>.
    /// </summary>
    public Task<SnapshotTaken> CreateAsync(string name, string snapshot, CancellationToken ct) => CephErrors.Guard($"snapshot {name}@{snapshot}", async () =>
    {
        SnapshotName.Validate(snapshot);
        var snapshots = Snapshots;
        var record = await snapshots.RequireAsync(name, ct);
        if (await snapshots.FindAsync(record, snapshot, ct) is { } existing)
        {
            return VolumeSnapshots.AlreadyThere(record, existing);
        }

        var (lease, _) = await snapshots.UsageAsync(record, ct);
        if (lease.State == "held" && lease.Host == settings.HostId)
        {
            using var admin = new AdminClient(adminSocket, AdminTimeout);
            return await admin.PostAsync(VolumeAdminEndpoints.PathOf(VolumeAdminEndpoints.SnapshotsPath, name), new SnapshotRequest(snapshot),
                VolumeAdminJsonContext.Default.SnapshotRequest, VolumeAdminJsonContext.Default.SnapshotTaken, ct);
        }

        return await snapshots.CreateUnmountedAsync(record, snapshot, ct);
    });

    public Task<IReadOnlyList<SnapshotListItem>> ListAsync(string name, CancellationToken ct) =>
        CephErrors.Guard($"list snapshots of {name}", () => Snapshots.ListAsync(name, ct));

    public Task<SnapshotRemoved> RemoveAsync(string name, string snapshot, CancellationToken ct) =>
        CephErrors.Guard($"remove snapshot {name}@{snapshot}", () => Snapshots.RemoveAsync(name, snapshot, ct));

    public Task<SnapshotRolledBack> RollbackAsync(string name, string snapshot, CancellationToken ct) =>
        CephErrors.Guard($"roll back {name} to {snapshot}", () => Snapshots.RollbackAsync(name, snapshot, ct));

    /// <summary>A new volume from SOURCE@SNAP, as <c>-o from-snapshot</c> makes it; <paramref name="size"/> may only grow it.</summary>
    public async Task<VolumeCloned> CloneAsync(string sourceSpec, string name, string? size, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var options = new Dictionary<string, string>(StringComparer.Ordinal) { [CreateOptionsParser.FromSnapshot] = sourceSpec };
        if (size is not null)
        {
            options["size"] = size;
        }

        var request = CreateOptionsParser.ParseClone(options, settings);
        var record = await CephErrors.Guard($"clone {request.Spec} as {name}", () => _store.CloneAsync(name, request, ct));
        return new VolumeCloned(name, request.Source, request.Snapshot, record.Image.ToString(), record.Spec.SizeBytes, record.Spec.FsType);
    }

    /// <summary>Makes a clone independent of its snapshot, so the snapshot and its volume can be removed.</summary>
    public Task<VolumeFlattened> FlattenAsync(string name, CancellationToken ct) => CephErrors.Guard($"flatten {name}", async () =>
    {
        VolumeName.Validate(name);
        var (record, flattened) = await _store.FlattenAsync(name, ct);
        return new VolumeFlattened(name, flattened, record.Spec.FromSnapshot);
    });

    /// <summary>
    /// Grows the image and records the size; then the filesystem: online through this host's daemon when it has the
    /// volume mounted, otherwise at the volume's next mount (the owner, if another host, is named).
    /// </summary>
    public Task<VolumeResized> ResizeAsync(string name, string size, CancellationToken ct) => CephErrors.Guard($"resize {name}", async () =>
    {
        VolumeName.Validate(name);
        if (!ByteSize.TryParse(size, out var bytes))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, $"invalid size '{size}': give a size in bytes or with a unit, e.g. 20G, 512MiB, 1T");
        }

        var (_, before) = await _store.ResizeAsync(name, bytes, ct);
        var lease = await leases.InspectAsync(name, ct);
        if (lease.State == "held" && lease.Host == settings.HostId)
        {
            using var admin = new AdminClient(adminSocket, AdminTimeout);
            var growth = await admin.PostAsync(VolumeAdminEndpoints.PathOf(VolumeAdminEndpoints.GrowPath, name), new GrowRequest(name),
                VolumeAdminJsonContext.Default.GrowRequest, VolumeAdminJsonContext.Default.FilesystemGrowth, ct);
            if (growth.Mounted)
            {
                return new VolumeResized(name, before, bytes, "grown", settings.HostId, growth.FilesystemBytes);
            }
        }

        return new VolumeResized(name, before, bytes, "at-next-mount", lease.State == "none" ? null : lease.Host, null);
    });
}
