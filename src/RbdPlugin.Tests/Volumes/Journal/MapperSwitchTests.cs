using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Volumes.Journal;

/// <summary>
/// An operator switches the Mapper setting while volumes are mounted: what the old mapper mapped stays on it until
/// released, and is released with it; new mounts use the new one.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class MapperSwitchTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly DriverHarness _h = new();
    private readonly FakeHost _newMapper;

    public MapperSwitchTests() => _newMapper = new FakeHost { Name = "new", Cluster = _h.Ceph };
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Restart_WithAnotherMapper_KeepsTheMountedVolumeOnItsOldMapper_AndReleasesItThere()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.ActiveMapper = _newMapper;

        var report = await _h.RestartAsync();
        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();

        Assert.Equal(1, report.Kept);
        Assert.Empty(_h.Host.Mapped); // unmapped by the mapper that mapped it
        Assert.DoesNotContain("map", _newMapper.Log);
        Assert.DoesNotContain("unmap", _newMapper.Log);
    }

    [Fact]
    public async Task Restart_WithAnotherMapper_AVolumeWhoseMountVanished_IsUnmappedByItsOldMapper()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Host.Mounts.Clear(); // the host rebooted: no mount, but the old mapper's device is still listed
        _h.ActiveMapper = _newMapper;

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Dropped);
        Assert.Empty(_h.Host.Mapped);
        Assert.Null(_h.Journal.Get("db1"));
    }

    [Fact]
    public async Task Restart_WithAnotherMapper_NewMountsUseTheNewMapper()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.CreateAsync("db2", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.ActiveMapper = _newMapper;
        await _h.RestartAsync();

        await _h.Driver.MountAsync("db2", IdA, _ct);

        Assert.Equal("new", _h.Journal.Get("db2")!.Mapper);
        Assert.Equal("fake", _h.Journal.Get("db1")!.Mapper);
    }
}
