using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

// Volumes this host lost to another host (issue 3, item 6), and the fence: once this daemon's Ceph client is
// blocklisted, every verb fails at once and every volume mounted here is released.
internal sealed partial class VolumeDriver
{
    private static readonly TimeSpan LostUnmountTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The volume's lock for a verb. Refused at once when fenced, and a wait is ended by the fence: the lock may be
    /// held by the release of a volume whose mapping the fence made hang.
    /// </summary>
    private async Task<IDisposable> LockAsync(string name, CancellationToken ct)
    {
        _fence.ThrowIfFenced();
        using var either = CancellationTokenSource.CreateLinkedTokenSource(ct, _fence.Token);
        try
        {
            return await _locks.AcquireAsync(name, either.Token);
        }
        catch (OperationCanceledException) when (_fence.IsFenced && !ct.IsCancellationRequested)
        {
            throw _fence.Error();
        }
    }

    /// <summary>A Ceph call of a verb: refused when fenced; ESHUTDOWN (our client blocklisted) is the fence noticed.</summary>
    private async Task<T> GuardAsync<T>(string what, Func<Task<T>> call)
    {
        _fence.ThrowIfFenced();
        try
        {
            return await call();
        }
        catch (CephException e) when (e.Errno == Errno.ESHUTDOWN)
        {
            OnFenced($"while trying to {what}");
            throw _fence.Error();
        }
        catch (CephException e)
        {
            throw CephErrors.Translate(what, e);
        }
    }

    private Task<bool> GuardAsync(string what, Func<Task> call) => GuardAsync(what, async () =>
    {
        await call();
        return true;
    });

    /// <summary>
    /// Another host blocklisted our client: it lost every lease at once. The clients of our mappings are ended
    /// first, without waiting for any lock, because a release already running (Unmount after its grace) may hang on
    /// them; then every volume is released under its lock.
    /// </summary>
    private void OnFenced(string how)
    {
        if (!_fence.Notice(ceph.InstanceAddress, how))
        {
            return;
        }

        var reason = $"this host was fenced ({how})";
        _ = Task.Run(async () =>
        {
            foreach (var entry in journal.All)
            {
                await TryStepAsync(entry.Name, "end the fenced client", () => mappers.Get(entry.Mapper).AbandonAsync(DeviceOf(entry), CancellationToken.None));
            }

            foreach (var entry in journal.All)
            {
                await OnLeaseLostAsync(entry.Name, new LeaseLoss(reason, Fenced: false));
            }
        });
    }

    /// <summary>Renewal found the lease gone: another host owns the volume now. Drop it here, under its lock.</summary>
    internal async Task OnLeaseLostAsync(string name, LeaseLoss loss)
    {
        if (loss.Fenced)
        {
            OnFenced($"renewing the lease of volume {name}");
        }

        try
        {
            using var _ = await _locks.AcquireAsync(name, _shutdown.Token);
            if (journal.Get(name) is { } entry)
            {
                CancelPendingRelease(name);
                await ReleaseLostAsync(entry, loss.Reason);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The daemon is stopping; the next start finds the lease taken and releases the volume then.
        }
    }

    /// <summary>
    /// Releases a volume this host no longer owns: ends the mapping's Ceph client first (its writes must not land
    /// any more, and a fenced client's I/O hangs forever, which would hang every step after it), then unmounts —
    /// lazily if containers still use it — unmaps and forgets. Never touches the lease: it belongs to someone else
    /// now. Best effort: every step runs whatever the previous one did. Caller holds the volume lock (or serving has
    /// not begun).
    /// </summary>
    internal async Task ReleaseLostAsync(JournalEntry entry, string reason)
    {
        LogReleasingLost(entry.Name, entry.Mountpoint, reason);
        leases.Forget(entry.Name);
        var mapper = mappers.Get(entry.Mapper);
        await TryStepAsync(entry.Name, "end the mapping's client", () => mapper.AbandonAsync(DeviceOf(entry), CancellationToken.None));
        try
        {
            using var bounded = new CancellationTokenSource(LostUnmountTimeout);
            await filesystem.UnmountAsync(entry.Mountpoint, bounded.Token);
        }
        catch (Exception e) when (e is HostCommandException or OperationCanceledException)
        {
            await TryStepAsync(entry.Name, "umount -l", () => filesystem.DetachAsync(entry.Mountpoint, CancellationToken.None));
        }

        await TryStepAsync(entry.Name, "unmap", () => mapper.UnmapAsync(DeviceOf(entry), CancellationToken.None));
        journal.Delete(entry.Name);
        TryRemoveEmptyDirectory(entry.Mountpoint);
        LogReleasedLost(entry.Name);
    }

    private static MappedDevice DeviceOf(JournalEntry entry) => new(entry.Image, entry.Device, entry.Mapper, entry.MapperDetail);

    private async Task TryStepAsync(string name, string step, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (e is HostCommandException or CephException or IOException or InvalidOperationException)
        {
            LogLostStepFailed(e, name, step);
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Volume {Volume} is no longer owned by this host ({Reason}): releasing {Mountpoint} here; containers using it lose it")]
    private partial void LogReleasingLost(string volume, string mountpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Released lost volume {Volume} here; it will not be re-acquired automatically")]
    private partial void LogReleasedLost(string volume);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing lost volume {Volume}: {Step} failed")]
    private partial void LogLostStepFailed(Exception e, string volume, string step);
}
