using System.Collections.Concurrent;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>Why this host lost a lease it held. <paramref name="Fenced"/>: its Ceph client was blocklisted, so it
/// lost every lease at once and can never write again until restarted.</summary>
internal sealed record LeaseLoss(string Reason, bool Fenced);

/// <summary>
/// Keeps the leases this daemon holds: renews each every sixth of its duration through the daemon's long-lived
/// connection (an expiring RADOS lock can only be renewed by the client instance that took it), and tells the
/// volume's owner when one is lost. Each lease renews on a thread of its own with synchronous calls, never on the
/// thread pool: blocking native calls of a slow cluster can starve the pool, and a renewal waiting there would let
/// the lease lapse while the cluster is merely slow. A renewal that comes too late (the OSD dropped the expired lock
/// while the cluster stalled) takes the lease back when nobody else took it.
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

    /// <summary>How often a lease is renewed: a sixth of its duration, so that two renewals, each allowed a whole
    /// CephTimeout, still fit in one lease (the start-up check enforces LeaseDuration ≥ 3 × CephTimeout).</summary>
    public static TimeSpan IntervalOf(TimeSpan leaseDuration) => leaseDuration / 6;

    /// <summary>Volumes whose lease this daemon renews now.</summary>
    public IReadOnlyCollection<string> Held => _held.Keys.ToList();

    /// <summary>Starts renewing a lease just taken; <paramref name="onLost"/> runs (on the thread pool) if it is lost.</summary>
    public void Start(string name, Func<LeaseLoss, Task> onLost)
    {
        var held = new HeldLease(name, RenewalTicker.Create(time, IntervalOf(settings.LeaseDuration)), onLost);
        _held.AddOrUpdate(name, held, (_, old) =>
        {
            old.Stop.Set();
            return held;
        });
        new Thread(() => Run(held)) { IsBackground = true, Name = $"lease {name}" }.Start();
    }

    /// <summary>Stops renewing without touching the cluster (the lease is released or lost, or the daemon stops).</summary>
    public void Forget(string name)
    {
        if (_held.TryRemove(name, out var held))
        {
            held.Stop.Set();
        }
    }

    public void Dispose()
    {
        foreach (var name in _held.Keys)
        {
            Forget(name);
        }
    }

    private void Run(HeldLease held)
    {
        var lastRenewed = time.GetTimestamp();
        try
        {
            while (held.Ticker.WaitNext(held.Stop))
            {
                LeaseLoss? lost = null;
                try
                {
                    if (objects.LockNow(held.Name, LockMode.Renew))
                    {
                        lastRenewed = time.GetTimestamp();
                    }
                    else if (TakeBack(held.Name))
                    {
                        LogTookBack(held.Name, time.GetElapsedTime(lastRenewed).TotalSeconds);
                        lastRenewed = time.GetTimestamp();
                    }
                    else
                    {
                        lost = new("its lock was broken or taken; another host owns it now", Fenced: false);
                    }
                }
                catch (CephException e) when (e.Errno == Errno.ESHUTDOWN)
                {
                    lost = new($"this daemon's Ceph client ({admin.InstanceAddress}) was blocklisted: another host fenced it and took over", Fenced: true);
                }
                catch (CephException e)
                {
                    if (time.GetElapsedTime(lastRenewed) >= settings.LeaseDuration)
                    {
                        lost = new($"it could not be renewed for {settings.LeaseDuration.TotalSeconds:0}s ({e.Message})", Fenced: false);
                    }
                    else
                    {
                        LogRenewFailed(held.Name, e.Message);
                    }
                }

                if (lost is not null)
                {
                    if (_held.TryRemove(new KeyValuePair<string, HeldLease>(held.Name, held)))
                    {
                        LogLost(held.Name, lost.Reason);
                        events.Raise(LeaseEvent.Lost);
                        _ = Task.Run(() => held.OnLost(lost));
                    }

                    return;
                }
            }
        }
        catch (Exception e)
        {
            LogRenewCrashed(e, held.Name);
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <summary>
    /// Our renewal found no lock of ours: the OSD dropped it as expired (a renewal that arrived late after a stall),
    /// or another host broke or took it. Taking it again succeeds only if nobody holds it; and it is ours to keep
    /// only if the owner record is still ours: every takeover writes its own record (and blocklists us first, so
    /// our calls would have failed with ESHUTDOWN instead).
    /// </summary>
    private bool TakeBack(string name)
    {
        if (!objects.LockNow(name, LockMode.Acquire))
        {
            return false;
        }

        if (objects.ReadRecordAsync(name, CancellationToken.None).GetAwaiter().GetResult()?.Cookie == objects.Cookie)
        {
            return true;
        }

        objects.UnlockQuietlyAsync(name).GetAwaiter().GetResult();
        return false;
    }

    private sealed class HeldLease(string name, RenewalTicker ticker, Func<LeaseLoss, Task> onLost) : IDisposable
    {
        public string Name { get; } = name;
        public RenewalTicker Ticker { get; } = ticker;
        public Func<LeaseLoss, Task> OnLost { get; } = onLost;
        public ManualResetEvent Stop { get; } = new(false);

        public void Dispose()
        {
            Ticker.Dispose();
            Stop.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: renewal failed ({Reason}); retrying")]
    private partial void LogRenewFailed(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: it lapsed {Seconds:0.#} s after the last renewal (the cluster stalled) and nobody took it: took it back")]
    private partial void LogTookBack(string volume, double seconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Lease of volume {Volume} LOST: {Reason}. Releasing it on this host; it will not be re-acquired automatically")]
    private partial void LogLost(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Lease of volume {Volume}: renewal thread failed")]
    private partial void LogRenewCrashed(Exception e, string volume);
}
