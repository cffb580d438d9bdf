using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>Why this host lost a lease it held. <paramref name="Fenced"/>: its Ceph client was blocklisted, so it
/// lost every lease at once and can never write again until restarted.</summary>
internal sealed record LeaseLoss(string Reason, bool Fenced);

// Renewing held leases every third of their duration, and noticing when one is lost.
internal sealed partial class LeaseKeeper
{
    /// <summary>Stops renewing without touching the cluster (the lease is lost, or the daemon stops).</summary>
    public void Forget(string name)
    {
        if (_held.TryRemove(name, out var held))
        {
            held.Stop.Cancel();
        }
    }

    private void StartRenewing(string name, Func<LeaseLoss, Task> onLost)
    {
        var held = new HeldLease(new CancellationTokenSource(), onLost);
        _held.AddOrUpdate(name, held, (_, old) =>
        {
            old.Stop.Cancel();
            return held;
        });
        _ = RenewLoopAsync(name, held);
    }

    private async Task RenewLoopAsync(string name, HeldLease held)
    {
        var lastRenewed = _time.GetUtcNow();
        try
        {
            while (true)
            {
                await Task.Delay(_settings.LeaseDuration / 3, _time, held.Stop.Token);
                LeaseLoss? lost = null;
                try
                {
                    if (await _ceph.LockExclusiveAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, Cookie,
                            Description(), _settings.LeaseDuration, LockMode.Renew, held.Stop.Token))
                    {
                        lastRenewed = _time.GetUtcNow();
                    }
                    else
                    {
                        lost = new("its lock was broken or lapsed; another host may own it now", Fenced: false);
                    }
                }
                catch (CephException e) when (e.Errno == Errno.ESHUTDOWN)
                {
                    lost = new($"this daemon's Ceph client ({_ceph.InstanceAddress}) was blocklisted: another host fenced it and took over", Fenced: true);
                }
                catch (CephException e)
                {
                    if (_time.GetUtcNow() - lastRenewed >= _settings.LeaseDuration)
                    {
                        lost = new($"it could not be renewed for {_settings.LeaseDuration.TotalSeconds:0}s ({e.Message})", Fenced: false);
                    }
                    else
                    {
                        LogRenewFailed(name, e.Message);
                    }
                }

                if (lost is not null)
                {
                    if (_held.TryRemove(new KeyValuePair<string, HeldLease>(name, held)))
                    {
                        LogLost(name, lost.Reason);
                        Changed?.Invoke(LeaseEvent.Lost);
                        await held.OnLost(lost);
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Released, forgotten, or the daemon is stopping.
        }
        catch (Exception e)
        {
            LogRenewCrashed(e, name);
        }
        finally
        {
            held.Stop.Dispose();
        }
    }

    private sealed record HeldLease(CancellationTokenSource Stop, Func<LeaseLoss, Task> OnLost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: renewal failed ({Reason}); retrying")]
    private partial void LogRenewFailed(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Lease of volume {Volume} LOST: {Reason}. Releasing it on this host; it will not be re-acquired automatically")]
    private partial void LogLost(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Lease of volume {Volume}: renewal loop failed")]
    private partial void LogRenewCrashed(Exception e, string volume);
}
