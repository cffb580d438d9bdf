using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

// Fencing the previous owner before taking over, and the operator's forced takeover.
internal sealed partial class LeaseKeeper
{
    /// <summary>How long a fenced client stays blocklisted: far longer than any freeze we expect it to wake from.</summary>
    public static readonly TimeSpan FenceExpiry = TimeSpan.FromDays(1);

    /// <summary>
    /// For <c>rbd-plugin volume takeover</c>: frees the volume for the next Mount on any host without mounting it.
    /// A lapsed lease (owner record, no live lock) is taken and its owner fenced exactly as Mount does; a live one
    /// is refused unless <paramref name="force"/>, which first fences the holder's client and breaks its lock. The
    /// owner record is then removed and the lock released, so the next Mount sees a clean release. Idempotent: a
    /// free volume fences only stray watchers of the image, if any.
    /// </summary>
    public async Task<TakeoverResult> TakeOverAsync(string name, ImageRef image, bool force, CancellationToken ct)
    {
        var holders = await ListHoldersAsync(name, ct);
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
            await BreakAsync(name, holder, ct);
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
            await RemoveRecordAsync(name, ct);
        }
        finally
        {
            await UnlockQuietlyAsync(name);
        }

        return new TakeoverResult(name, previousHost, holders.Count > 0, fenced.Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// Blocklists every client the previous owner could still write with: its daemon (so a frozen owner learns it
    /// lost the volume at its next renewal) and every client watching the image (its mappings). Nobody may watch
    /// the image legitimately now: a writer needs this lease, and we hold it. An image already gone (removed while
    /// this Mount waited) has no watchers: the caller finds the volume gone.
    /// </summary>
    private async Task<IReadOnlyList<string>> FenceAsync(string name, ImageRef image, LeaseRecord? previous, CancellationToken ct)
    {
        var addresses = (await _ceph.ListWatchersOrNoneAsync(image, ct)).Select(w => w.Address).ToList();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: FENCED client {Address} of previous owner {Host} (blocklisted) before mapping")]
    private partial void LogFenced(string volume, string address, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of volume {Volume}: TOOK OVER from host {Host} (owner since {Since}), whose lease had lapsed without a release")]
    private partial void LogTookOver(string volume, string host, string since);
}
