using System.Collections.Concurrent;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>Why this host lost a lease it held. <paramref name="Fenced"/>: its Ceph client was blocklisted, so it
/// lost every lease at once and can never write again until restarted.</summary>
internal sealed record LeaseLoss(string Reason, bool Fenced);

/// <summary>
/// Keeps the leases this daemon holds: renews each every third of its duration through the daemon's long-lived
/// connection (an expiring RADOS lock can only be renewed by the client instance that took it), and tells the
/// volume's owner when one is lost.
/// </summary>
internal sealed partial class LeaseRenewer(
    LeaseObjects objects,
    ICephAdmin admin,
    LeaseEvents events,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<LeaseRenewer> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, HeldLease> _held = new(StringComparer.Ordinal);

    /// <summary>Volumes whose lease this daemon renews now.</summary>
    public IReadOnlyCollection<string> Held => _held.Keys.ToList();

    /// <summary>Starts renewing a lease just taken; <paramref name="onLost"/> runs if renewal later fails.</summary>
    public void Start(string name, Func<LeaseLoss, Task> onLost)
    {
        var held = new HeldLease(new CancellationTokenSource(), onLost);
        _held.AddOrUpdate(name, held, (_, old) =>
        {
            old.Stop.Cancel();
            return held;
        });
        _ = RenewLoopAsync(name, held);
    }

    /// <summary>Stops renewing without touching the cluster (the lease is released or lost, or the daemon stops).</summary>
    public void Forget(string name)
    {
        if (_held.TryRemove(name, out var held))
        {
            held.Stop.Cancel();
        }
    }

    public void Dispose()
    {
        foreach (var name in _held.Keys)
        {
            Forget(name);
        }
    }

    private async Task RenewLoopAsync(string name, HeldLease held)
    {
        var lastRenewed = time.GetUtcNow();
        try
        {
            while (true)
            {
                await Task.Delay(settings.LeaseDuration / 3, time, held.Stop.Token);
                LeaseLoss? lost = null;
                try
                {
                    if (await objects.LockAsync(name, LockMode.Renew, held.Stop.Token))
                    {
                        lastRenewed = time.GetUtcNow();
                    }
                    else
                    {
                        lost = new("its lock was broken or lapsed; another host may own it now", Fenced: false);
                    }
                }
                catch (CephException e) when (e.Errno == Errno.ESHUTDOWN)
                {
                    lost = new($"this daemon's Ceph client ({admin.InstanceAddress}) was blocklisted: another host fenced it and took over", Fenced: true);
                }
                catch (CephException e)
                {
                    if (time.GetUtcNow() - lastRenewed >= settings.LeaseDuration)
                    {
                        lost = new($"it could not be renewed for {settings.LeaseDuration.TotalSeconds:0}s ({e.Message})", Fenced: false);
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
                        events.Raise(LeaseEvent.Lost);
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
