using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Fences whatever a previous owner could still write with before this host maps its volume, and the operator's
/// forced takeover (<c>rbd-plugin volume takeover</c>).
/// </summary>
internal sealed partial class LeaseFencer(
    LeaseObjects objects,
    FenceIndex fences,
    ICephAdmin admin,
    ICephImages images,
    LeaseEvents events,
    LeaseIdentity identity,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<LeaseFencer> logger)
{
    /// <summary>
    /// "Until unfenced": ten years. A frozen host that wakes after its fence expired could write again, so by
    /// default nothing expires and the operator lifts a host's fence (<c>rbd-plugin host unfence</c>) once it is known
    /// to write no more. Not longer: Ceph keeps the expiry as 32-bit seconds since 1970 (until 2106), and an expiry
    /// past that would wrap around into the past, lifting the fence at once.
    /// </summary>
    public static readonly TimeSpan UntilUnfenced = TimeSpan.FromDays(3650);

    /// <summary>How long this daemon's fences last (the FenceExpiry setting; 0s = <see cref="UntilUnfenced"/>).</summary>
    public TimeSpan Expiry => settings.FenceExpiry > TimeSpan.Zero ? settings.FenceExpiry : UntilUnfenced;

    /// <summary>
    /// Blocklists every client the previous owner could still write with: its daemon (so a frozen owner learns it
    /// lost the volume at its next renewal), the writers its record names (its mapping's clients, recorded at map
    /// time), and every client watching the image. Nobody may watch
    /// the image legitimately now: a writer needs this lease, and the caller holds it. An image already gone
    /// (removed while a Mount waited) has no watchers: the caller finds the volume gone.
    /// </summary>
    public async Task<IReadOnlyList<string>> FenceAsync(string name, ImageRef image, LeaseRecord? previous, CancellationToken ct)
    {
        var addresses = (await images.ListWatchersOrNoneAsync(image, ct)).Select(w => w.Address).ToList();
        if (previous is not null && previous.Address != admin.InstanceAddress)
        {
            // Its writers whether or not they still watch the image: a frozen host's watch times out, its writer does not.
            addresses.InsertRange(0, [previous.Address, .. previous.Writers ?? []]);
        }

        addresses = addresses.Distinct(StringComparer.Ordinal).ToList();
        foreach (var address in addresses)
        {
            await BlocklistAsync(name, address, previous?.Host ?? "unknown", ct);
        }

        if (previous is not null)
        {
            LogTookOver(name, previous.Host, Rfc3339.Format(previous.Since));
            events.Raise(LeaseEvent.TookOver);
        }

        return addresses;
    }

    /// <summary>
    /// Frees the volume for the next Mount on any host without mounting it. A lapsed lease (owner record, no live
    /// lock) is taken and its owner fenced exactly as Mount does; a live one is refused unless
    /// <paramref name="force"/>, which first fences the holder's client and breaks its lock. The owner record is
    /// then removed and the lock released, so the next Mount sees a clean release. Idempotent: a free volume fences
    /// only stray watchers of the image, if any.
    /// </summary>
    public async Task<TakeoverResult> TakeOverAsync(string name, ImageRef image, bool force, CancellationToken ct)
    {
        var holders = await objects.ListHoldersAsync(name, ct);
        var fenced = new List<string>();
        string? previousHost = holders.Count > 0 ? LeaseIdentity.HostOf(holders[0].Cookie) : null;
        if (holders.Count > 0 && !force)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} is in use on host {previousHost}: that host holds a live lease ({holders[0].Client} at {holders[0].Address}). " +
                $"Unmount it there, or, if {previousHost} is down or hung, fence it with `rbd-plugin volume takeover {name} --force`");
        }

        foreach (var holder in holders)
        {
            // The live owner could still write: fenced before its lock goes, so it can never write after we took over.
            await BreakAsync(name, holder, ct);
            fenced.Add(holder.Address);
        }

        if (!await objects.LockAsync(name, LockMode.Acquire, ct))
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name}: another host took its lease while this takeover ran; check `rbd-plugin volume inspect {name}` and retry");
        }

        try
        {
            var previous = await objects.ReadRecordAsync(name, ct);
            previousHost ??= previous?.Host;
            fenced.AddRange(await FenceAsync(name, image, previous, ct));
            await objects.RemoveRecordAsync(name, ct);
        }
        finally
        {
            await objects.UnlockQuietlyAsync(name);
        }

        return new TakeoverResult(name, previousHost, holders.Count > 0, fenced.Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// Breaks another client's hold on the volume's lock. A lock that is not provably ours is broken only after its
    /// holder is blocklisted: whoever held it could still write. Provably ours is our cookie, which names this
    /// machine, this boot and this state dir (<see cref="LeaseIdentity"/>): an earlier run of this daemon, whose
    /// restart is not a failover (a VM cloned from this one, or this host after a reboot, has another cookie).
    /// </summary>
    public async Task BreakAsync(string name, Locker holder, CancellationToken ct)
    {
        if (holder.Cookie != objects.Cookie)
        {
            await BlocklistAsync(name, holder.Address, LeaseIdentity.HostOf(holder.Cookie), ct);
        }

        await objects.BreakAsync(name, holder, ct);
    }

    private async Task BlocklistAsync(string name, string address, string host, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await admin.BlocklistAddAsync(address, Expiry, ct);
        await fences.PutAsync(new FenceRecord(address, host, name, now, identity.HostId, now + Expiry), ct);
        LogFenced(name, address, host);
        events.Raise(LeaseEvent.Fenced);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: FENCED client {Address} of previous owner {Host} (blocklisted) before mapping")]
    private partial void LogFenced(string volume, string address, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: TOOK OVER from host {Host} (owner since {Since}), whose lease had lapsed without a release")]
    private partial void LogTookOver(string volume, string host, string since);
}
