using System.Collections.Concurrent;
using System.Globalization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Ownership of volumes across hosts: one expiring exclusive RADOS lock per volume (object
/// <c>rbd-plugin.lease.NAME</c> in the index pool), renewed every third of its duration through the daemon's
/// long-lived connection. A dead owner's lock lapses on the OSD by itself; the next owner then fences whatever the
/// old one could still write with (its daemon client and every watcher of the image) before it maps. The cookie is
/// the host id plus a token kept in the state dir, so a restarted daemon recognises — and re-takes — its own lock,
/// while a second host misconfigured with the same id does not.
/// </summary>
internal sealed partial class LeaseKeeper : IDisposable
{
    public const string LockName = "rbd-plugin-lease";
    public const string OwnerKey = "owner";

    /// <summary>How long a fenced client stays blocklisted: far longer than any freeze we expect it to wake from.</summary>
    public static readonly TimeSpan FenceExpiry = TimeSpan.FromDays(1);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly ICephCluster _ceph;
    private readonly VolumeSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<LeaseKeeper> _logger;
    private readonly ConcurrentDictionary<string, HeldLease> _held = new(StringComparer.Ordinal);

    public LeaseKeeper(ICephCluster ceph, VolumeSettings settings, TimeProvider time, ILogger<LeaseKeeper> logger)
    {
        _ceph = ceph;
        _settings = settings;
        _time = time;
        _logger = logger;
        Cookie = $"{settings.HostId}/{HostToken(settings.StateDir)}";
    }

    /// <summary>This host's lock cookie: "HOSTID/TOKEN".</summary>
    public string Cookie { get; }

    public static string ObjectOf(string volume) => $"rbd-plugin.lease.{volume}";

    /// <summary>Volumes whose lease this daemon renews now.</summary>
    public IReadOnlyCollection<string> Held => _held.Keys.ToList();

    /// <summary>Raised on each fence, takeover and loss (after its log line), for the metrics.</summary>
    public event Action<LeaseEvent>? Changed;

    /// <summary>
    /// Takes the volume's lease for a Mount and starts renewing it. A lease another host holds is waited for up to
    /// LeaseWait (its unmount grace may still be running), then refused with an error naming the owner. A lease
    /// that lapsed without a clean release is taken over: the old owner is fenced before this returns, so before
    /// anything is mapped. <paramref name="onLost"/> runs if renewal later fails.
    /// </summary>
    public async Task<LeaseRecord> AcquireAsync(string name, ImageRef image, Func<string, Task> onLost, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + _settings.LeaseWait;
        while (true)
        {
            if (await TryLockAsync(name, ct))
            {
                try
                {
                    var previous = await ReadRecordAsync(name, ct);
                    if (previous is null || previous.Cookie != Cookie)
                    {
                        await FenceAsync(name, image, previous, ct);
                    }

                    var record = new LeaseRecord(_settings.HostId, Cookie, _ceph.InstanceAddress, _time.GetUtcNow());
                    await WriteRecordAsync(name, record, ct);
                    StartRenewing(name, onLost);
                    return record;
                }
                catch
                {
                    await UnlockQuietlyAsync(name);
                    throw;
                }
            }

            var holders = await _ceph.ListLockersAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, ct);
            if (holders.FirstOrDefault(h => h.Cookie == Cookie) is { } stale)
            {
                // Our own lock from an earlier run of this daemon: a restart is not a failover, nothing to fence.
                await _ceph.BreakLockAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, stale, ct);
                LogRetookOwn(name, stale.Client);
                continue;
            }

            if (_time.GetUtcNow() >= deadline)
            {
                throw await HeldElsewhereAsync(name, holders, ct);
            }

            await Task.Delay(PollInterval, _time, ct);
        }
    }

    /// <summary>
    /// At start, for a volume still mounted here: takes our lease back (breaking our previous instance's lock) and
    /// renews it. Returns null when it is ours again, or why it is not: another host holds it or took it over.
    /// </summary>
    public async Task<string?> ReclaimAsync(string name, bool hadLease, Func<string, Task> onLost, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await TryLockAsync(name, ct))
            {
                var record = await ReadRecordAsync(name, ct);
                if (record is not null && record.Cookie != Cookie)
                {
                    await UnlockQuietlyAsync(name);
                    return $"host {record.Host} took it over on {Format(record.Since)}";
                }

                if (record is null && hadLease)
                {
                    // We wrote a record when we mounted; only a clean release by someone else removes it.
                    await UnlockQuietlyAsync(name);
                    return "another host took it over and has released it since";
                }

                var since = record?.Since ?? _time.GetUtcNow();
                await WriteRecordAsync(name, new LeaseRecord(_settings.HostId, Cookie, _ceph.InstanceAddress, since), ct);
                StartRenewing(name, onLost);
                return null;
            }

            var holders = await _ceph.ListLockersAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, ct);
            if (holders.FirstOrDefault(h => h.Cookie == Cookie) is not { } stale)
            {
                var holder = holders.Count > 0 ? holders[0] : null;
                return $"host {(holder is null ? "unknown" : HostOf(holder.Cookie))} holds its lease now";
            }

            await _ceph.BreakLockAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, stale, ct);
        }

        return "its lease kept changing hands while this daemon tried to take it back";
    }

    /// <summary>
    /// Lets go of the lease after the volume was unmounted and unmapped here: stops renewing, removes our owner
    /// record (first, so nobody mistakes a clean release for a crash), then unlocks — or breaks the lock an
    /// earlier run of this daemon left. Idempotent.
    /// </summary>
    public async Task ReleaseAsync(string name, CancellationToken ct)
    {
        Forget(name);
        var obj = ObjectOf(name);
        if (await ReadRecordAsync(name, ct) is { } record && record.Cookie == Cookie)
        {
            await _ceph.RemoveOmapKeyAsync(_settings.Pool, _settings.Namespace, obj, OwnerKey, ct);
        }

        foreach (var holder in await _ceph.ListLockersAsync(_settings.Pool, _settings.Namespace, obj, LockName, ct))
        {
            if (holder.Cookie != Cookie)
            {
                continue;
            }

            if (holder.Address == _ceph.InstanceAddress)
            {
                await _ceph.UnlockAsync(_settings.Pool, _settings.Namespace, obj, LockName, Cookie, ct);
            }
            else
            {
                await _ceph.BreakLockAsync(_settings.Pool, _settings.Namespace, obj, LockName, holder, ct);
            }
        }
    }

    /// <summary>Stops renewing without touching the cluster (the lease is lost, or the daemon stops).</summary>
    public void Forget(string name)
    {
        if (_held.TryRemove(name, out var held))
        {
            held.Stop.Cancel();
        }
    }

    /// <summary>
    /// For <c>rbd-plugin volume takeover</c>: frees the volume for the next Mount on any host without mounting it.
    /// A lapsed lease (owner record, no live lock) is taken and its owner fenced exactly as Mount does; a live one
    /// is refused unless <paramref name="force"/>, which first fences the holder's client and breaks its lock. The
    /// owner record is then removed and the lock released, so the next Mount sees a clean release. Idempotent: a
    /// free volume fences only stray watchers of the image, if any.
    /// </summary>
    public async Task<TakeoverResult> TakeOverAsync(string name, ImageRef image, bool force, CancellationToken ct)
    {
        var obj = ObjectOf(name);
        var holders = await _ceph.ListLockersAsync(_settings.Pool, _settings.Namespace, obj, LockName, ct);
        var fenced = new List<string>();
        string? previousHost = holders.Count > 0 ? HostOf(holders[0].Cookie) : null;
        if (holders.Count > 0 && !force)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} is in use on host {previousHost}: that host holds a live lease ({holders[0].Client} at {holders[0].Address}). " +
                $"Unmount it there, or, if {previousHost} is down or hung, fence it with `rbd-plugin volume takeover {name} --force`");
        }

        foreach (var holder in holders)
        {
            // The live owner could still write: fence before its lock goes, so it can never write after we took over.
            await _ceph.BlocklistAddAsync(holder.Address, FenceExpiry, ct);
            LogFenced(name, holder.Address, HostOf(holder.Cookie));
            Changed?.Invoke(LeaseEvent.Fenced);
            fenced.Add(holder.Address);
            await _ceph.BreakLockAsync(_settings.Pool, _settings.Namespace, obj, LockName, holder, ct);
        }

        if (!await TryLockAsync(name, ct))
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name}: another host took its lease while this takeover ran; check `rbd-plugin volume inspect {name}` and retry");
        }

        try
        {
            var previous = await ReadRecordAsync(name, ct);
            previousHost ??= previous?.Host;
            fenced.AddRange(await FenceAsync(name, image, previous, ct));
            await _ceph.RemoveOmapKeyAsync(_settings.Pool, _settings.Namespace, obj, OwnerKey, ct);
        }
        finally
        {
            await UnlockQuietlyAsync(name);
        }

        return new TakeoverResult(name, previousHost, holders.Count > 0, fenced.Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>The lease as the cluster sees it now, for Status and error messages.</summary>
    public async Task<LeaseView> InspectAsync(string name, CancellationToken ct)
    {
        var holdersTask = _ceph.ListLockersAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, ct);
        var record = await ReadRecordAsync(name, ct);
        var holder = await holdersTask is { Count: > 0 } found ? found[0] : null;
        if (holder is not null)
        {
            return new LeaseView("held", HostOf(holder.Cookie), record?.Cookie == holder.Cookie ? record.Since : null);
        }

        return record is null ? LeaseView.None : new LeaseView("expired", record.Host, record.Since);
    }

    public void Dispose()
    {
        foreach (var name in _held.Keys)
        {
            Forget(name);
        }
    }

    private Task<bool> TryLockAsync(string name, CancellationToken ct) =>
        _ceph.LockExclusiveAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, Cookie, Description(),
            _settings.LeaseDuration, LockMode.Acquire, ct);

    private string Description() =>
        $"{{\"hostId\":\"{_settings.HostId}\",\"since\":\"{Format(_time.GetUtcNow())}\"}}";

    /// <summary>
    /// Blocklists every client the previous owner could still write with: its daemon (so a frozen owner learns it
    /// lost the volume at its next renewal) and every client watching the image (its mappings). Nobody may watch
    /// the image legitimately now: a writer needs this lease, and we hold it.
    /// </summary>
    private async Task<IReadOnlyList<string>> FenceAsync(string name, ImageRef image, LeaseRecord? previous, CancellationToken ct)
    {
        var addresses = (await _ceph.ListWatchersAsync(image, ct)).Select(w => w.Address).ToList();
        if (previous is not null && previous.Address != _ceph.InstanceAddress)
        {
            addresses.Insert(0, previous.Address);
        }

        addresses = addresses.Distinct(StringComparer.Ordinal).ToList();
        foreach (var address in addresses)
        {
            await _ceph.BlocklistAddAsync(address, FenceExpiry, ct);
            LogFenced(name, address, previous?.Host ?? "unknown");
            Changed?.Invoke(LeaseEvent.Fenced);
        }

        if (previous is not null)
        {
            LogTookOver(name, previous.Host, Format(previous.Since));
            Changed?.Invoke(LeaseEvent.TookOver);
        }

        return addresses;
    }

    private async Task<VolumeException> HeldElsewhereAsync(string name, IReadOnlyList<Locker> holders, CancellationToken ct)
    {
        var record = await ReadRecordAsync(name, ct);
        var holder = holders.Count > 0 ? holders[0] : null;
        var host = holder is null ? record?.Host ?? "unknown" : HostOf(holder.Cookie);
        var since = record is not null && record.Cookie == holder?.Cookie ? $" since {Format(record.Since)}" : "";
        var client = holder is null ? "" : $" ({holder.Client} at {holder.Address})";
        return new VolumeException(VolumeErrorKind.InUse,
            $"volume {name} is in use on host {host}{since}: that host holds its lease{client}. Unmount it there first " +
            $"(this Mount waited {_settings.LeaseWait.TotalSeconds:0.#}s for a release). If {host} is down, its lease lapses within " +
            $"{_settings.LeaseDuration.TotalSeconds:0}s and the next Mount here takes over automatically; to take over now, fencing {host}: " +
            $"`rbd-plugin volume takeover {name} --force`");
    }

    private async Task<LeaseRecord?> ReadRecordAsync(string name, CancellationToken ct) =>
        LeaseRecord.FromJson(await _ceph.ReadOmapKeyAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), OwnerKey, ct));

    private Task WriteRecordAsync(string name, LeaseRecord record, CancellationToken ct) =>
        _ceph.SetOmapKeyAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), OwnerKey, (record with { Mountpoint = Path.Combine(_settings.MountRoot, name) }).ToJson(), ct);

    private async Task UnlockQuietlyAsync(string name)
    {
        try
        {
            await _ceph.UnlockAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, Cookie, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogUnlockFailed(e, name);
        }
    }

    private void StartRenewing(string name, Func<string, Task> onLost)
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
                string? lost = null;
                try
                {
                    if (await _ceph.LockExclusiveAsync(_settings.Pool, _settings.Namespace, ObjectOf(name), LockName, Cookie,
                            Description(), _settings.LeaseDuration, LockMode.Renew, held.Stop.Token))
                    {
                        lastRenewed = _time.GetUtcNow();
                    }
                    else
                    {
                        lost = "its lock was broken or lapsed; another host may own it now";
                    }
                }
                catch (CephException e) when (e.Errno == Errno.ESHUTDOWN)
                {
                    lost = "this daemon's Ceph client was blocklisted: another host fenced it and took over";
                }
                catch (CephException e)
                {
                    if (_time.GetUtcNow() - lastRenewed >= _settings.LeaseDuration)
                    {
                        lost = $"it could not be renewed for {_settings.LeaseDuration.TotalSeconds:0}s ({e.Message})";
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
                        LogLost(name, lost);
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

    private static string HostOf(string cookie) => cookie.Split('/')[0];

    private static string Format(DateTimeOffset when) => when.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A random token per state dir, made once: tells this host's locks from a namesake's.</summary>
    private static string HostToken(string stateDir)
    {
        var path = Path.Combine(stateDir, "lease-token");
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }

        Directory.CreateDirectory(stateDir);
        var token = Guid.NewGuid().ToString("N")[..12];
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(token));
        return token;
    }

    private sealed record HeldLease(CancellationTokenSource Stop, Func<string, Task> OnLost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: FENCED client {Address} of previous owner {Host} (blocklisted) before mapping")]
    private partial void LogFenced(string volume, string address, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: TOOK OVER from host {Host} (owner since {Since}), whose lease had lapsed without a release")]
    private partial void LogTookOver(string volume, string host, string since);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease of volume {Volume}: took back this host's own lock left by an earlier run ({Client})")]
    private partial void LogRetookOwn(string volume, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: renewal failed ({Reason}); retrying")]
    private partial void LogRenewFailed(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Lease of volume {Volume} LOST: {Reason}. Releasing it on this host; it will not be re-acquired automatically")]
    private partial void LogLost(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Lease of volume {Volume}: renewal loop failed")]
    private partial void LogRenewCrashed(Exception e, string volume);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: unlock failed; it lapses by itself")]
    private partial void LogUnlockFailed(Exception e, string volume);
}
