using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Journal;

/// <summary>
/// A krbd mapping of one of our volumes that no journal entry holds (a crash between the map and the journal write)
/// is released at start, but only when it is certainly nobody's: several daemons can share one kernel.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class KernelLeftoversTests : IDisposable
{
    private static readonly Locker HostB = new("client.777", "host-b/feedfacecafe", "127.0.0.1:0/777");
    private readonly DriverHarness _h = new();
    private readonly FakeHost _krbd;
    private readonly ImageRef _image = new("rbd", "", "db1");
    private readonly CancellationToken _ct = CancellationToken.None;

    public KernelLeftoversTests()
    {
        _krbd = new FakeHost { Name = "krbd", Cluster = _h.Ceph };
        _h.ActiveMapper = _krbd;
    }

    public void Dispose() => _h.Dispose();

    private async Task LeftoverAsync(string image = "db1")
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        var leftover = new ImageRef("rbd", "", image);
        _krbd.Mapped[leftover] = new MappedDevice(leftover, "/dev/rbd0", "krbd");
    }

    [Fact]
    public async Task Restart_OurVolumeMappedButNotJournaledNorUsed_IsUnmapped()
    {
        await LeftoverAsync();

        var report = await _h.RestartAsync();

        Assert.Empty(_krbd.Mapped);
        Assert.Equal(1, report.OrphansCleaned);
    }

    [Fact]
    public async Task Restart_LeftoverWhoseLeaseAnotherHostHolds_IsLeftToIt()
    {
        await LeftoverAsync();
        _h.Ceph.HoldLock("rbd", "", LeaseObjects.ObjectNameOf("db1"), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));

        await _h.RestartAsync();

        Assert.Contains(_image, _krbd.Mapped.Keys);
    }

    [Fact]
    public async Task Restart_LeftoverDeviceOpenBySomeone_IsLeftAlone()
    {
        await LeftoverAsync();
        _h.Probe.DevicesInUse.Add("/dev/rbd0");

        await _h.RestartAsync();

        Assert.Contains(_image, _krbd.Mapped.Keys);
    }

    [Fact]
    public async Task Restart_AMappingOfAnImageThatIsNoVolumeOfOurs_IsLeftAlone()
    {
        await LeftoverAsync("someone-elses");

        await _h.RestartAsync();

        Assert.Contains(new ImageRef("rbd", "", "someone-elses"), _krbd.Mapped.Keys);
    }
}
