using Microsoft.Extensions.DependencyInjection;
using RbdPlugin.Ceph;
using RbdPlugin.Hosting;
using RbdPlugin.Operations;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Operations;

[Trait("Tier", "Fast")]
public sealed class VolumeOperationsTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("rbd-plugin-cli-ops-").FullName;
    private readonly FakeCeph _ceph = new();
    private readonly ServiceProvider _services;
    private readonly VolumeOperations _ops;

    public VolumeOperationsTests()
    {
        var settings = new VolumeSettings
        {
            Pool = "rbd", AllowedPools = ["rbd"], MountRoot = "/m", StateDir = _state, HostId = "ops.cli", RemoveAction = RemoveAction.Delete,
        };
        _services = new ServiceCollection().AddFakeCeph(_ceph, settings, LeaseIdentity.ForDaemon(settings.HostId, _state), TimeProvider.System)
            .AddOperations(Path.Combine(_state, "admin.sock"), MapperAbilities.Any).BuildServiceProvider();
        _ops = _services.GetRequiredService<VolumeOperations>();
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_state, recursive: true);
    }

    private void HoldLease(string volume, string host, string address) =>
        _ceph.Locks[$"rbd//{LeaseObjects.ObjectNameOf(volume)}/{LeaseObjects.LockName}"] =
            (new Locker("client.77", $"{host}/token", address), DateTimeOffset.UtcNow.AddMinutes(1));

    [Fact]
    public async Task Create_ThenLs_ListsItWithSizeAndNoOwner()
    {
        await _ops.CreateAsync("db1", new Dictionary<string, string> { ["size"] = "2G" }, default);

        var item = Assert.Single(await _ops.ListAsync(default));

        Assert.Equal(("db1", 2UL << 30, "2G", (string?)null, "none"), (item.Name, item.SizeBytes, item.Size, item.Owner, item.Lease));
    }

    [Fact]
    public async Task Inspect_Unknown_NotFound() =>
        Assert.Equal(VolumeErrorKind.NotFound, (await Assert.ThrowsAsync<VolumeException>(() => _ops.InspectAsync("nope", default))).Kind);

    [Fact]
    public async Task Rm_LeaseHeldByAnotherHost_InUseNamingTheHost_ImageKept()
    {
        await _ops.CreateAsync("db1", new Dictionary<string, string>(), default);
        HoldLease("db1", "host-a", "10.0.0.1:0/77");

        var e = await Assert.ThrowsAsync<VolumeException>(() => _ops.RemoveAsync("db1", default));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("mounted on host host-a", e.Message, StringComparison.Ordinal);
        Assert.Single(_ceph.Images);
    }

    [Fact]
    public async Task Rm_Twice_SecondSaysNotRemoved() // idempotent
    {
        await _ops.CreateAsync("db1", new Dictionary<string, string>(), default);

        Assert.True((await _ops.RemoveAsync("db1", default)).Removed);
        Assert.False((await _ops.RemoveAsync("db1", default)).Removed);
        Assert.Empty(_ceph.Images);
    }

    [Fact]
    public async Task Takeover_LiveLeaseWithoutForce_InUse_NothingFenced()
    {
        await _ops.CreateAsync("db1", new Dictionary<string, string>(), default);
        HoldLease("db1", "host-a", "10.0.0.1:0/77");

        var e = await Assert.ThrowsAsync<VolumeException>(() => _ops.TakeOverAsync("db1", force: false, default));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        Assert.Empty(_ceph.Blocklist);
    }

    [Fact]
    public async Task Takeover_LiveLeaseWithForce_FencesHolder_LeavesLeaseFree()
    {
        await _ops.CreateAsync("db1", new Dictionary<string, string>(), default);
        HoldLease("db1", "host-a", "10.0.0.1:0/77");

        var result = await _ops.TakeOverAsync("db1", force: true, default);

        Assert.Equal(("host-a", true), (result.PreviousOwner, result.BrokeLiveLease));
        Assert.Equal(["10.0.0.1:0/77"], result.Fenced);
        Assert.Contains("10.0.0.1:0/77", _ceph.Blocklist);
        Assert.Equal("none", (await _ops.InspectAsync("db1", default)).Status["lease"]);
    }
    [Fact]
    public async Task Takeover_LapsedLeaseWithoutForce_FencesTheOldOwnerAndClearsItsRecord()
    {
        // Arrange: host-a's owner record without a live lock: it crashed without releasing
        await _ops.CreateAsync("db1", new Dictionary<string, string>(), default);
        var record = new LeaseRecord("host-a", "host-a/token", "10.0.0.1:0/77", DateTimeOffset.UtcNow.AddMinutes(-5));
        await _ceph.SetOmapKeyAsync(new RadosObject("rbd", "", LeaseObjects.ObjectNameOf("db1")), LeaseObjects.OwnerKey, record.ToJson(), default);
        Assert.Equal("expired", (await _ops.InspectAsync("db1", default)).Status["lease"]);

        // Act
        var result = await _ops.TakeOverAsync("db1", force: false, default);

        // Assert
        Assert.Equal(("host-a", false), (result.PreviousOwner, result.BrokeLiveLease));
        Assert.Equal(["10.0.0.1:0/77"], result.Fenced);
        Assert.Equal("none", (await _ops.InspectAsync("db1", default)).Status["lease"]);
        Assert.True((await _ops.RemoveAsync("db1", default)).Removed);
    }
}
