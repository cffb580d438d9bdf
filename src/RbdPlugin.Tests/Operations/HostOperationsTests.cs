using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RbdPlugin.Ceph;
using RbdPlugin.Operations;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Operations;

/// <summary>Over fakes: what a takeover fenced is recorded per host, listed, and lifted by `host unfence` only.</summary>
[Trait("Tier", "Fast")]
public sealed class HostOperationsTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;
    private string _daemonA = "";
    private string _writerA = "";

    public void Dispose() => _h.Dispose();

    private HostOperations Operations => new(new FenceIndex(_h.Ceph, _h.Settings), _h.Ceph);

    /// <summary>host-a mounts db1 and freezes; host-b takes it over, fencing host-a's daemon and writer.</summary>
    private async Task TakenOverFromHostAAsync()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _daemonA = _h.Ceph.InstanceAddress;
        _writerA = _h.Host.Writers[new ImageRef("rbd", "", "db1")].Address;
        _h.Stop();
        _h.Time.Advance(TimeSpan.FromSeconds(31));
        _h.Ceph.InstanceId++;
        using var hostB = _h.Another(_h.Settings with { HostId = "host-b", StateDir = Path.Combine(_h.Root, "state-b") });
        await hostB.GetRequiredService<LeaseAcquirer>().AcquireAsync("db1", new ImageRef("rbd", "", "db1"), _ => Task.CompletedTask, _ct);
    }

    [Fact]
    public async Task Fences_AfterATakeover_ListsTheOldOwnersClients_UntilUnfencedByDefault()
    {
        await TakenOverFromHostAAsync();

        var fences = await Operations.ListAsync("host-a", _ct);

        Assert.Equal(new[] { _daemonA, _writerA }.Order(StringComparer.Ordinal), fences.Select(f => f.Address).Order(StringComparer.Ordinal));
        Assert.All(fences, f =>
        {
            Assert.Equal("db1", f.Volume);
            Assert.Equal("host-b", f.FencedBy);
            Assert.Equal(f.FencedAt + LeaseFencer.UntilUnfenced, f.Until);
        });
        Assert.Empty(await Operations.ListAsync("host-c", _ct));
    }

    [Fact]
    public async Task Unfence_TakesEachOfTheHostsClientsOffTheBlocklist_ThenForgetsThem()
    {
        await TakenOverFromHostAAsync();

        var result = await Operations.UnfenceAsync("host-a", _ct);

        Assert.Equal(new[] { _daemonA, _writerA }.Order(StringComparer.Ordinal), result.Unfenced.Order(StringComparer.Ordinal));
        var removed = _h.Ceph.MonCommands.Select(c => JsonDocument.Parse(c).RootElement)
            .Where(c => c.GetProperty("prefix").GetString() == "osd blocklist" && c.GetProperty("blocklistop").GetString() == "rm")
            .Select(c => c.GetProperty("addr").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(result.Unfenced.Order(StringComparer.Ordinal), removed);
        Assert.Empty(await Operations.ListAsync(null, _ct));
        var again = await Assert.ThrowsAsync<VolumeException>(() => Operations.UnfenceAsync("host-a", _ct));
        Assert.Equal(VolumeErrorKind.NotFound, again.Kind);
    }

    [Fact]
    public async Task Unfence_ClientWithoutTheCapsToRemove_RefusedNamingTheAdminKey_FencesKept()
    {
        await TakenOverFromHostAAsync();
        _h.Ceph.MonAnswer = _ => (-Errno.EACCES, "access denied");

        var e = await Assert.ThrowsAsync<VolumeException>(() => Operations.UnfenceAsync("host-a", _ct));

        Assert.Contains("--ceph-id admin", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await Operations.ListAsync("host-a", _ct)).Count);
    }
}
