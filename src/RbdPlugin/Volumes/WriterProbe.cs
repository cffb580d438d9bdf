using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Finds the Ceph clients a new mapping writes with: every mapper's client (the kernel's rbd client, rbd-nbd's and
/// rbd-fuse's librbd) watches the image's header once it has the image open, so the clients watching it after the
/// map that did not before are ours. We hold the lease while mapping, so nobody else may be opening it.
/// </summary>
internal sealed class WriterProbe(ICephImages images)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
    private const int Attempts = 20;

    /// <summary>The watchers before the map.</summary>
    public async Task<IReadOnlySet<string>> BeforeAsync(ImageRef image, CancellationToken ct) =>
        (await images.ListWatchersOrNoneAsync(image, ct)).Select(w => w.Address).ToHashSet(StringComparer.Ordinal);

    /// <summary>The watchers that came with the map; waits up to 2 s for a watch a userspace client registers
    /// after it answered. Empty when none showed (then only the watch-based fencing covers this mapping).</summary>
    public async Task<IReadOnlyList<string>> NewAsync(ImageRef image, IReadOnlySet<string> before, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var now = (await images.ListWatchersOrNoneAsync(image, ct)).Select(w => w.Address).Where(a => !before.Contains(a))
                .Distinct(StringComparer.Ordinal).ToList();
            if (now.Count > 0 || attempt == Attempts - 1)
            {
                return now;
            }

            // Real time, not the injected clock: a bounded wait for an external process, never a deadline of ours.
            await Task.Delay(Poll, ct);
        }
    }
}
