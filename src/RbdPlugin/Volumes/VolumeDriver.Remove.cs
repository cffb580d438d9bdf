namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    public const string TrashIndexObject = VolumeStore.TrashIndexObject;

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        using var _ = await LockAsync(name, ct);
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

        // Under the volume's lease, which goes with it: no Mount on any host maps it meanwhile, and no lease object is left.
        await GuardAsync($"remove {name}", () => leases.RetireAsync(name, () => _store.RemoveAsync(name, ct), ct));
    }
}
