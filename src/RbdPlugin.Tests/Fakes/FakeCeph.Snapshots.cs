using System.Collections.Concurrent;
using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Fakes;

// Snapshots, clones and resize, in memory: a snapshot remembers the image's size; rollback restores it.
internal sealed partial class FakeCeph
{
    public ConcurrentDictionary<ImageRef, List<SnapshotInfo>> Snapshots { get; } = new();

    private ulong _nextSnapId = 1;

    private List<SnapshotInfo> SnapshotsOf(ImageRef image) =>
        Images.ContainsKey(image) ? Snapshots.GetOrAdd(image, _ => []) : throw new CephException("rbd_open", Errno.ENOENT);

    public Task CreateSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        Call("CreateSnapshot");
        var list = SnapshotsOf(image);
        lock (list)
        {
            if (list.Any(s => s.Name == snapshot))
            {
                throw new CephException("rbd_snap_create", Errno.EEXIST);
            }

            list.Add(new SnapshotInfo(_nextSnapId++, snapshot, Images[image].SizeBytes, Clock.GetUtcNow()));
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SnapshotInfo>> ListSnapshotsAsync(ImageRef image, CancellationToken ct)
    {
        Call("ListSnapshots");
        var list = SnapshotsOf(image);
        lock (list)
        {
            return Task.FromResult<IReadOnlyList<SnapshotInfo>>(list.ToList());
        }
    }

    public Task<bool> RemoveSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        Call("RemoveSnapshot");
        var list = SnapshotsOf(image);
        lock (list)
        {
            return Task.FromResult(list.RemoveAll(s => s.Name == snapshot) > 0);
        }
    }

    public Task RollbackSnapshotAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        Call("RollbackSnapshot");
        var snap = SnapshotsOf(image).FirstOrDefault(s => s.Name == snapshot) ?? throw new CephException("rbd_snap_rollback", Errno.ENOENT);
        Images[image] = Images[image] with { SizeBytes = snap.SizeBytes };
        return Task.CompletedTask;
    }

    public async Task CloneImageAsync(ImageRef source, string snapshot, ImageCreateRequest clone, CancellationToken ct)
    {
        Call("CloneImage");
        var snap = SnapshotsOf(source).FirstOrDefault(s => s.Name == snapshot) ?? throw new CephException("rbd_clone3", Errno.ENOENT);
        // librbd copies the parent's metadata into the clone first; the clone's own request then overwrites its keys.
        var metadata = (Images.TryGetValue(source, out var parent) ? parent.Metadata : new Dictionary<string, string>())
            .ToDictionary(kv => kv.Key, string? (kv) => kv.Value);
        foreach (var (key, value) in clone.Metadata)
        {
            metadata[key] = value;
        }

        await CreateImageAsync(clone with { SizeBytes = Math.Max(snap.SizeBytes, clone.SizeBytes), Metadata = metadata }, ct);
        Clones.Add(clone.Image);
    }

    /// <summary>Clones made by <see cref="CloneImageAsync"/> that were not flattened since.</summary>
    public HashSet<ImageRef> Clones { get; } = [];

    public Task<bool> FlattenImageAsync(ImageRef image, CancellationToken ct)
    {
        Call("FlattenImage");
        return Images.ContainsKey(image) ? Task.FromResult(Clones.Remove(image)) : throw new CephException("rbd_open", Errno.ENOENT);
    }

    public Task ResizeImageAsync(ImageRef image, ulong sizeBytes, CancellationToken ct)
    {
        Call("ResizeImage");
        var info = Images.TryGetValue(image, out var found) ? found : throw new CephException("rbd_open", Errno.ENOENT);
        Images[image] = sizeBytes >= info.SizeBytes ? info with { SizeBytes = sizeBytes } : throw new CephException("rbd_resize2", Errno.EINVAL);
        return Task.CompletedTask;
    }
}
