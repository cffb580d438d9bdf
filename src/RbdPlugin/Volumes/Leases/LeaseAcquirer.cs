using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Taking a volume's lease for a Mount (waiting for, refusing or taking over another host's), taking it back after a
/// restart, and giving it back after the unmap. A lease taken is handed to <see cref="LeaseRenewer"/>.
/// </summary>
internal sealed partial class LeaseAcquirer(
    LeaseObjects objects,
    LeaseFencer fencer,
    LeaseRenewer renewer,
    LeaseIdentity identity,
    ICephAdmin admin,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<LeaseAcquirer> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Takes the volume's lease for a Mount and starts renewing it. A lease another host holds is waited for up to
    /// LeaseWait (its unmount grace may still be running), then refused with an error naming the owner. A lease
    /// that lapsed without a clean release is taken over: the old owner is fenced before this returns, so before
    /// anything is mapped. <paramref name="onLost"/> runs if renewal later fails.
    /// </summary>
    public async Task<LeaseRecord> AcquireAsync(string name, ImageRef image, Func<LeaseLoss, Task> onLost, CancellationToken ct)
    {
        // Monotonic: an NTP step must neither cut the wait short nor stretch it.
        var started = time.GetTimestamp();
        while (true)
        {
            if (await objects.LockAsync(name, LockMode.Acquire, ct))
            {
                try
                {
                    var previous = await objects.ReadRecordAsync(name, ct);
                    if (previous is null || previous.Cookie != identity.Cookie)
                    {
                        await fencer.FenceAsync(name, image, previous, ct);
                    }

                    var record = NewRecord(time.GetUtcNow());
                    await objects.WriteRecordAsync(name, record, ct);
                    renewer.Start(name, onLost);
                    return record;
                }
                catch
                {
                    await objects.UnlockQuietlyAsync(name);
                    throw;
                }
            }

            var holders = await objects.ListHoldersAsync(name, ct);
            if (holders.FirstOrDefault(h => h.Cookie == identity.Cookie) is { } stale)
            {
                // Our own lock from an earlier run of this daemon on this machine and boot: a restart, not a failover.
                await fencer.BreakAsync(name, stale, ct);
                LogRetookOwn(name, stale.Client);
                continue;
            }

            if (time.GetElapsedTime(started) >= settings.LeaseWait)
            {
                throw await HeldElsewhereAsync(name, holders, ct);
            }

            await Task.Delay(PollInterval, time, ct);
        }
    }

    /// <summary>Adds the mapping's Ceph clients to the owner record of a lease just taken (see <see cref="LeaseRecord.Writers"/>).</summary>
    public Task RecordWritersAsync(string name, LeaseRecord lease, IReadOnlyList<string> writers, CancellationToken ct) =>
        objects.WriteRecordAsync(name, lease with { Writers = writers }, ct);

    /// <summary>
    /// Replaces the writers in the owner record of a lease this host holds again (taken back by
    /// <see cref="ReclaimAsync"/>): a mapping served again by a new client after a restart. Throws when the record
    /// is not ours any more, so that the caller releases the mapping rather than keep an unrecorded writer.
    /// </summary>
    public async Task RecordOwnWritersAsync(string name, IReadOnlyList<string> writers, CancellationToken ct)
    {
        var record = await objects.ReadRecordAsync(name, ct);
        if (record is null || record.Cookie != identity.Cookie)
        {
            throw new VolumeException(VolumeErrorKind.InUse, $"volume {name}: its lease is no longer this host's ({record?.Host ?? "released"})");
        }

        await objects.WriteRecordAsync(name, record with { Writers = writers }, ct);
    }

    /// <summary>
    /// At start, for a volume still mounted here: takes our lease back (breaking our previous instance's lock) and
    /// renews it. Returns null when it is ours again, or why it is not: another host holds it or took it over.
    /// </summary>
    public async Task<string?> ReclaimAsync(string name, bool hadLease, IReadOnlyList<string>? writers, Func<LeaseLoss, Task> onLost, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await objects.LockAsync(name, LockMode.Acquire, ct))
            {
                var record = await objects.ReadRecordAsync(name, ct);
                if (record is not null && record.Cookie != identity.Cookie)
                {
                    await objects.UnlockQuietlyAsync(name);
                    return $"host {record.Host} took it over on {Rfc3339.Format(record.Since)}";
                }

                if (record is null && hadLease)
                {
                    // We wrote a record when we mounted; only a clean release by someone else removes it.
                    await objects.UnlockQuietlyAsync(name);
                    return "another host took it over and has released it since";
                }

                await objects.WriteRecordAsync(name, NewRecord(record?.Since ?? time.GetUtcNow()) with { Writers = writers ?? record?.Writers }, ct);
                renewer.Start(name, onLost);
                return null;
            }

            var holders = await objects.ListHoldersAsync(name, ct);
            if (holders.FirstOrDefault(h => h.Cookie == identity.Cookie) is not { } stale)
            {
                var holder = holders.Count > 0 ? holders[0] : null;
                return $"host {(holder is null ? "unknown" : LeaseIdentity.HostOf(holder.Cookie))} holds its lease now";
            }

            await fencer.BreakAsync(name, stale, ct);
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
        renewer.Forget(name);
        if (await objects.ReadRecordAsync(name, ct) is { } record && record.Cookie == identity.Cookie)
        {
            await objects.RemoveRecordAsync(name, ct);
        }

        foreach (var holder in await objects.ListHoldersAsync(name, ct))
        {
            if (holder.Cookie != identity.Cookie)
            {
                continue;
            }

            if (holder.Address == admin.InstanceAddress)
            {
                await objects.UnlockAsync(name, ct);
            }
            else
            {
                await fencer.BreakAsync(name, holder, ct);
            }
        }
    }

    private LeaseRecord NewRecord(DateTimeOffset since) => new(identity.HostId, identity.Cookie, admin.InstanceAddress, since);

    private async Task<VolumeException> HeldElsewhereAsync(string name, IReadOnlyList<Locker> holders, CancellationToken ct)
    {
        var record = await objects.ReadRecordAsync(name, ct);
        var holder = holders.Count > 0 ? holders[0] : null;
        var host = holder is null ? record?.Host ?? "unknown" : LeaseIdentity.HostOf(holder.Cookie);
        var since = record is not null && record.Cookie == holder?.Cookie ? $" since {Rfc3339.Format(record.Since)}" : "";
        var client = holder is null ? "" : $" ({holder.Client} at {holder.Address})";
        return new VolumeException(VolumeErrorKind.InUse,
            $"volume {name} is in use on host {host}{since}: that host holds its lease{client}. Unmount it there first " +
            $"(this Mount waited {settings.LeaseWait.TotalSeconds:0.#}s for a release). If {host} is down, its lease lapses within " +
            $"{settings.LeaseDuration.TotalSeconds:0}s and the next Mount here takes over automatically; to take over now, fencing {host}: " +
            $"`rbd-plugin volume takeover {name} --force`");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease of volume {Volume}: took back this host's own lock left by an earlier run ({Client})")]
    private partial void LogRetookOwn(string volume, string client);
}
