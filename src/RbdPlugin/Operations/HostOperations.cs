using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>One client the plugin fenced (<c>host fences</c>).</summary>
internal sealed record FenceListItem(string Address, string Host, string Volume, DateTimeOffset FencedAt, string FencedBy, DateTimeOffset Until);

/// <summary><c>host unfence</c>: the addresses taken off Ceph's blocklist.</summary>
internal sealed record UnfenceResult(string Host, IReadOnlyList<string> Unfenced);

/// <summary>
/// What <c>rbd-plugin host fences|unfence</c> do: list the clients the plugin blocklisted when it took volumes over
/// (from its fence index; Ceph's blocklist does not say whose an address was), and lift one host's fences once the
/// operator knows it writes no more (rebooted, or its daemon restarted and reconcile released what it had lost).
/// </summary>
internal sealed class HostOperations(FenceIndex fences, ICephAdmin admin)
{
    public Task<IReadOnlyList<FenceListItem>> ListAsync(string? host, CancellationToken ct) => CephErrors.Guard("list the fences", async () =>
        (IReadOnlyList<FenceListItem>)(await fences.ListAsync(ct)).Where(f => host is null || f.Host == host)
            .Select(f => new FenceListItem(f.Address, f.Host, f.Volume, f.FencedAt, f.FencedBy, f.Until)).ToList());

    /// <summary>
    /// Takes every client recorded for <paramref name="host"/> off the blocklist, then out of the index. Needs a
    /// client whose mon caps allow <c>osd blocklist rm</c> (profile rbd only allows adding): run it as client.admin.
    /// Idempotent: an address no longer blocklisted is success. Refused when nothing is recorded for the host.
    /// </summary>
    public async Task<UnfenceResult> UnfenceAsync(string host, CancellationToken ct)
    {
        var mine = (await CephErrors.Guard("list the fences", () => fences.ListAsync(ct))).Where(f => f.Host == host).ToList();
        if (mine.Count == 0)
        {
            throw new VolumeException(VolumeErrorKind.NotFound, $"no fences of host {host} are recorded; `rbd-plugin host fences` lists the fenced hosts");
        }

        var done = new List<string>();
        foreach (var fence in mine)
        {
            var (result, status) = await admin.BlocklistRemoveAsync(fence.Address, ct);
            if (result is -Errno.EACCES or -Errno.EPERM)
            {
                throw new VolumeException(VolumeErrorKind.Unavailable,
                    $"the monitors refused `osd blocklist rm` for this client ({status}): lifting a fence needs an admin key; run it as " +
                    $"`rbd-plugin host unfence {host} --ceph-id admin --keyring /etc/ceph/ceph.client.admin.keyring`" +
                    (done.Count > 0 ? $" (unfenced so far: {string.Join(", ", done)})" : ""));
            }

            if (result < 0)
            {
                throw new VolumeException(VolumeErrorKind.Unavailable, $"osd blocklist rm {fence.Address} failed with errno {-result} ({status})");
            }

            await CephErrors.Guard($"forget the fence of {fence.Address}", () => fences.RemoveAsync(fence.Address, ct));
            done.Add(fence.Address);
        }

        return new UnfenceResult(host, done);
    }
}
