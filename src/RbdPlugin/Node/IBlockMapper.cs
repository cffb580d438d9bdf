using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// Turns an RBD image into a block device on this host and back. Three implementations: krbd (rbd device map),
/// rbd-nbd, and rbd-fuse + loop; MapperSelector picks one.
/// </summary>
internal interface IBlockMapper
{
    /// <summary>"krbd", "nbd" or "fuse"; recorded in the journal so a restart unmaps with the same mapper.</summary>
    string Name { get; }

    /// <summary>Feature bits this mapper can open, or null when it supports every librbd feature.</summary>
    ulong? SupportedFeatures { get; }

    /// <summary>Whether the volume's I/O limits (librbd's rbd_qos_* image settings) hold on this mapper's device:
    /// true for the librbd clients (rbd-nbd, rbd-fuse), false for the kernel client.</summary>
    bool AppliesIoLimits { get; }

    /// <summary>Whether encrypted volumes (LUKS2 through dm-crypt over the mapped device) are served: true for krbd
    /// and rbd-nbd, false for the fuse mapper (it is for hosts without the rbd and nbd modules, where device-mapper
    /// is missing too: a container, this project's dev machine).</summary>
    bool OpensEncrypted { get; }

    /// <summary>Maps the image. Idempotent: an image already mapped by this mapper returns the existing device.</summary>
    Task<MappedDevice> MapAsync(ImageRef image, CancellationToken ct);

    /// <summary>Unmaps. Idempotent: a device no longer mapped is success.</summary>
    Task UnmapAsync(MappedDevice device, CancellationToken ct);

    /// <summary>
    /// For a mapping this host lost to another host: ends the Ceph client serving it at once, without a flush (its
    /// writes must not land any more, and a fenced client's I/O hangs forever), so that I/O on the device fails
    /// instead of hanging and the unmount and unmap after it cannot hang either. Idempotent. A no-op for kernel
    /// clients, which fail I/O by themselves once fenced.
    /// </summary>
    Task AbandonAsync(MappedDevice device, CancellationToken ct);

    /// <summary>
    /// Makes the device show the image's current size after the image was grown: the kernel's rbd client follows
    /// a resize by itself; rbd-nbd mapped through netlink is re-attached; a loop device keeps the size it was
    /// attached with until told.
    /// </summary>
    Task RefreshSizeAsync(MappedDevice device, CancellationToken ct);

    /// <summary>Whether <see cref="RefreshSizeAsync"/> serves the device with a new Ceph client, whose address the
    /// lease must then record (rbd-nbd mapped through netlink: it is re-attached).</summary>
    bool RefreshRenewsClient(MappedDevice device) => false;

    /// <summary>Every image this mapper has mapped on this host (for reconciliation at start).</summary>
    Task<IReadOnlyList<MappedDevice>> ListMappedAsync(CancellationToken ct);

    /// <summary>
    /// Whether the kernel still holds the device of this mapping, whose userspace server died (an rbd-nbd that ran
    /// inside a managed plugin), waiting for a new server: then <see cref="ReattachAsync"/> can serve it again, and
    /// the filesystem on it, the containers' open files and their pending writes carry on. Never for krbd (its client
    /// lives in the kernel and does not die with the plugin) nor for a loop device (its backing file is gone).
    /// </summary>
    bool AwaitsReattach(MappedDevice device) => false;

    /// <summary>Serves a device that <see cref="AwaitsReattach"/> again, with a new Ceph client. Only once this host
    /// holds the volume's lease again: the new client can write.</summary>
    Task ReattachAsync(MappedDevice device, CancellationToken ct) =>
        throw new NotSupportedException($"the {Name} mapper cannot re-attach a device");
}

/// <summary>
/// A mapped image. <paramref name="Detail"/> is mapper-specific (the fuse mapper's fuse mountpoint, rbd-nbd's
/// device cookie).
/// <paramref name="DevicePath"/> is empty only in <see cref="IBlockMapper.ListMappedAsync"/> results for a mapping
/// left half-done by a crash (the fuse mapper's rbd-fuse mount without its loop device): unmap it.
/// </summary>
internal sealed record MappedDevice(ImageRef Image, string DevicePath, string Mapper, string? Detail = null);
