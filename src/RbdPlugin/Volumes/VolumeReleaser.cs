using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// How a volume leaves this host: after Docker's last Unmount and its grace period, when Docker lost the Unmount
/// (<see cref="UnusedMountReaper"/>), when another host took it over (its lease was lost), and all at once when
/// this daemon was fenced. A release we chose gives the lease back; a lost volume's lease belongs to someone else.
/// </summary>
internal sealed partial class VolumeReleaser : IDisposable
{
    private readonly MountJournal _journal;
    private readonly VolumeMounter _mounter;
    private readonly VolumeGuard _guard;
    private readonly PendingReleases _pending;
    private readonly LeaseAcquirer _leases;
    private readonly LeaseRenewer _renewer;
    private readonly ILogger<VolumeReleaser> _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private int _disposed;

    public VolumeReleaser(MountJournal journal, VolumeMounter mounter, VolumeGuard guard, PendingReleases pending, LeaseAcquirer leases,
        LeaseRenewer renewer, ILogger<VolumeReleaser> logger)
    {
        (_journal, _mounter, _guard, _pending, _leases, _renewer, _logger) = (journal, mounter, guard, pending, leases, renewer, logger);
        _guard.Fenced += OnFenced;
    }

    /// <summary>After the last Unmount: released once the grace period has passed, unless a Mount takes it back first.</summary>
    public void ReleaseAfterGrace(string name) => _pending.Schedule(name, takenBack => ReleaseAfterGraceAsync(name, takenBack));

    /// <summary>A Mount (or a Remove) takes the volume back from a pending release.</summary>
    public void CancelPending(string name) => _pending.Cancel(name);

    /// <summary>Unmounts and unmaps a volume nobody uses any more, forgets it, and gives its lease back. Caller holds
    /// the volume lock (or serving has not begun).</summary>
    public async Task ReleaseAsync(JournalEntry entry, CancellationToken ct)
    {
        await _mounter.ReleaseAsync(entry, ct);
        await ReleaseLeaseQuietlyAsync(entry.Name);
    }

    /// <summary>Gives the lease back once nothing of the volume is left here; a failure only delays the next owner
    /// until the lease lapses, so it is logged, not thrown.</summary>
    public async Task ReleaseLeaseQuietlyAsync(string name)
    {
        try
        {
            await _leases.ReleaseAsync(name, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogLeaseReleaseFailed(e, name);
        }
    }

    /// <summary>
    /// Releases a volume Docker still holds references on but no container uses: dockerd that restarts after a
    /// crash kills the old containers without sending their Unmount, ever (moby 20.10). <paramref name="observed"/>
    /// is the journal entry the reaper saw unused for <paramref name="unusedFor"/>; a Mount or Unmount since then
    /// replaced it, and then nothing is done (the volume is live again). Returns whether it released the volume.
    /// </summary>
    public async Task<bool> ReleaseUnusedAsync(JournalEntry observed, TimeSpan unusedFor, CancellationToken ct)
    {
        using var _ = await _guard.LockForReleaseAsync(observed.Name, ct);
        if (!ReferenceEquals(_journal.Get(observed.Name), observed))
        {
            return false;
        }

        _pending.Cancel(observed.Name);
        LogReleasingUnused(observed.Name, observed.TotalRefs, unusedFor.TotalSeconds, observed.Device);
        await ReleaseAsync(observed, ct);
        return true;
    }

    /// <summary>
    /// Releases a volume this host no longer owns (<see cref="VolumeMounter.ReleaseLostAsync"/>). Never touches the
    /// lease: it belongs to someone else now. Caller holds the volume lock (or serving has not begun).
    /// </summary>
    public async Task ReleaseLostAsync(JournalEntry entry, string reason)
    {
        LogReleasingLost(entry.Name, entry.Mountpoint, reason);
        _renewer.Forget(entry.Name);
        await _mounter.ReleaseLostAsync(entry);
    }

    /// <summary>Renewal found the lease gone: another host owns the volume now. Drop it here, under its lock.</summary>
    public async Task OnLeaseLostAsync(string name, LeaseLoss loss)
    {
        if (loss.Fenced)
        {
            _guard.Notice($"renewing the lease of volume {name}");
        }

        try
        {
            using var _ = await _guard.LockForReleaseAsync(name, _shutdown.Token);
            if (_journal.Get(name) is { } entry)
            {
                _pending.Cancel(name);
                await ReleaseLostAsync(entry, loss.Reason);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The daemon is stopping; the next start finds the lease taken and releases the volume then.
        }
    }

    public void Dispose()
    {
        // DI disposes a singleton once per registration it was resolved as.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _guard.Fenced -= OnFenced;
        _shutdown.Cancel();
        _shutdown.Dispose();
    }

    /// <summary>
    /// Another host blocklisted our client: it lost every lease at once. The clients of our mappings are ended
    /// first, without waiting for any lock, because a release already running (Unmount after its grace) may hang on
    /// them; then every volume is released under its lock.
    /// </summary>
    private void OnFenced(string how)
    {
        var reason = $"this host was fenced ({how})";
        _ = Task.Run(async () =>
        {
            foreach (var entry in _journal.All)
            {
                try
                {
                    await _mounter.AbandonAsync(entry, CancellationToken.None);
                }
                catch (Exception e) when (e is HostCommandException or CephException or IOException or InvalidOperationException)
                {
                    LogAbandonFailed(e, entry.Name);
                }
            }

            foreach (var entry in _journal.All)
            {
                await OnLeaseLostAsync(entry.Name, new LeaseLoss(reason, Fenced: false));
            }
        });
    }

    private async Task ReleaseAfterGraceAsync(string name, CancellationToken takenBack)
    {
        using var _ = await _guard.LockForReleaseAsync(name, _shutdown.Token);
        if (!takenBack.IsCancellationRequested && _journal.Get(name) is { TotalRefs: 0 } entry)
        {
            await ReleaseAsync(entry, _shutdown.Token);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume} has {Refs} Docker reference(s) but no container has used {Device} for {Seconds:0} s (Docker lost its Unmount, e.g. dockerd restarted after a crash): releasing it as if unmounted")]
    private partial void LogReleasingUnused(string volume, int refs, double seconds, string device);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Volume {Volume} is no longer owned by this host ({Reason}): releasing {Mountpoint} here; containers using it lose it")]
    private partial void LogReleasingLost(string volume, string mountpoint, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing lost volume {Volume}: end the fenced client failed")]
    private partial void LogAbandonFailed(Exception e, string volume);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back the lease of volume {Volume}; it lapses by itself")]
    private partial void LogLeaseReleaseFailed(Exception e, string volume);
}
