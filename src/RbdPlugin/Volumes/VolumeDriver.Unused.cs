namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    /// <summary>
    /// Releases a volume Docker still holds references on but no container uses: dockerd that restarts after a
    /// crash kills the old containers without sending their Unmount, ever (moby 20.10; see
    /// <see cref="UnusedMountReaper"/>). <paramref name="observed"/> is the journal entry the reaper saw unused for
    /// <paramref name="unusedFor"/>; a Mount or Unmount since then replaced it, and then nothing is done (the
    /// volume is live again). Returns whether it released the volume.
    /// </summary>
    internal async Task<bool> ReleaseUnusedAsync(JournalEntry observed, TimeSpan unusedFor, CancellationToken ct)
    {
        using var _ = await _locks.AcquireAsync(observed.Name, ct);
        if (!ReferenceEquals(journal.Get(observed.Name), observed))
        {
            return false;
        }

        CancelPendingRelease(observed.Name);
        LogReleasingUnused(observed.Name, observed.TotalRefs, unusedFor.TotalSeconds, observed.Device);
        await ReleaseAsync(observed, ct);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume} has {Refs} Docker reference(s) but no container has used {Device} for {Seconds:0} s (Docker lost its Unmount, e.g. dockerd restarted after a crash): releasing it as if unmounted")]
    private partial void LogReleasingUnused(string volume, int refs, double seconds, string device);
}
