namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    public const string TrashIndexObject = VolumeStore.TrashIndexObject;

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        using var _ = await _locks.AcquireAsync(name, ct);
        if (journal.Get(name) is { } entry)
        {
            if (entry.TotalRefs > 0)
            {
                throw new VolumeException(VolumeErrorKind.InUse,
                    $"volume {name} is in use: mounted on host {settings.HostId} at {entry.Mountpoint} by {entry.TotalRefs} container mount(s); stop those containers first");
            }

            CancelPendingRelease(name);
            await HostErrors.Guard($"unmount of volume {name} before removing it", () => ReleaseAsync(entry, ct));
        }

        await CephErrors.Guard($"remove {name}", () => _store.RemoveAsync(name, ct));
    }
}
