using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>What <c>volume resize</c> does: grows the image, then the filesystem where it is mounted.</summary>
internal sealed class ResizeOperations(VolumeResizer resizer, LeaseInspector leases, LocalDaemon daemon, VolumeSettings settings)
{
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

        var (_, before) = await resizer.ResizeAsync(name, bytes, ct);
        var lease = await leases.InspectAsync(name, ct);
        if (lease.IsHeld && lease.Host == settings.HostId && await daemon.GrowAsync(name, ct) is { Mounted: true } growth)
        {
            return new VolumeResized(name, before, bytes, "grown", settings.HostId, growth.FilesystemBytes);
        }

        return new VolumeResized(name, before, bytes, "at-next-mount", lease.State == LeaseState.None ? null : lease.Host, null);
    });
}
