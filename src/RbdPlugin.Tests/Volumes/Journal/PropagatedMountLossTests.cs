using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Journal;

/// <summary>
/// A managed plugin stops (<c>docker plugin disable -f</c>): Docker unmounts its propagated mount, where the
/// volumes are mounted, but a running container keeps its own mount of the filesystem. At the next start the
/// journal says mounted, this namespace says not. What the plugin does depends on whether the mapping survived.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class PropagatedMountLossTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly Locker HostB = new("client.777", "host-b/feedfacecafe", "127.0.0.1:0/777");
    private static readonly ImageRef Image = new("rbd", "", "db1");
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    /// <summary>Mounted for a container, then the plugin's own mount is taken away; the container keeps it.</summary>
    private async Task<JournalEntry> MountThenLoseOurMountAsync()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        var entry = _h.Journal.Get("db1")!;
        _h.Host.Mounts.Clear();
        _h.Namespaces.Others.Add(new MountEntry(entry.Device, "/data", "ext4"));
        return entry;
    }

    [Fact]
    public async Task Restart_ContainerStillUsesALiveMapping_MountsAgainAndKeepsTheLease()
    {
        // Arrange: the mapping is alive (krbd outlives the plugin)
        var entry = await MountThenLoseOurMountAsync();

        // Act
        var report = await _h.RestartAsync();

        // Assert: kept, mounted again where Docker will look, and still this host's: no other host can mount it
        Assert.Equal(1, report.Kept);
        Assert.Equal(entry.Device, _h.Host.Mounts[entry.Mountpoint].Device);
        Assert.Equal(LeaseState.Held, (await _h.Inspector.InspectAsync("db1", _ct)).State);
        Assert.DoesNotContain("unmap", _h.Host.Log);
    }

    [Fact]
    public async Task Restart_ContainerStillUsesALiveMapping_DockersUnmountLaterReleasesIt()
    {
        // Arrange
        await MountThenLoseOurMountAsync();
        await _h.RestartAsync();
        _h.Namespaces.Others.Clear(); // the container stopped

        // Act
        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();

        // Assert
        Assert.Empty(_h.Host.Mounts);
        Assert.Empty(_h.Host.Mapped);
        Assert.Equal(LeaseState.None, (await _h.Inspector.InspectAsync("db1", _ct)).State);
    }

    [Fact]
    public async Task Restart_ContainerStillUsesADeadMapping_UnmapsTheJournaledDeviceAndReleases()
    {
        // Arrange: the mapping died with the plugin (rbd-fuse ran inside it): the mapper no longer lists it
        var entry = await MountThenLoseOurMountAsync();
        _h.Host.Mapped.Clear();
        _h.Host.Log.Clear();

        // Act
        var report = await _h.RestartAsync();

        // Assert: dropped; the journaled device was still handed to the mapper (a loop device left on a dead
        // rbd-fuse file is detached there), and nobody can write through it, so the lease is free
        Assert.Equal(1, report.Dropped);
        Assert.Contains("unmap", _h.Host.Log);
        Assert.DoesNotContain(entry.Mountpoint, _h.Host.Mounts.Keys);
        Assert.Null(_h.Journal.Get("db1"));
        Assert.Equal(LeaseState.None, (await _h.Inspector.InspectAsync("db1", _ct)).State);
    }

    [Fact]
    public async Task Restart_ContainerStillUsesAMappingAwaitingReattach_ReattachedMountedAgainAndItsNewClientRecorded()
    {
        // Arrange: rbd-nbd died with the plugin; the kernel keeps the device, its I/O waiting, for a new one
        var entry = await MountThenLoseOurMountAsync();
        var oldWriter = _h.Host.Writers[Image].Address;
        _h.Host.KillServer(Image);
        _h.Host.Log.Clear();

        // Act
        var report = await _h.RestartAsync();

        // Assert: kept on the same device, mounted again, and the lease names the new client beside the old one
        Assert.Equal(1, report.Kept);
        Assert.Equal(["reattach", "mount"], _h.Host.Log.Where(s => s is "reattach" or "mount" or "unmap"));
        Assert.Equal(entry.Device, _h.Host.Mounts[entry.Mountpoint].Device);
        var newWriter = _h.Host.Writers[Image].Address;
        Assert.NotEqual(oldWriter, newWriter);
        var record = LeaseRecord.FromJson(await _h.Ceph.ReadOmapKeyAsync(new RadosObject("rbd", "", LeaseObjects.ObjectNameOf("db1")), LeaseObjects.OwnerKey, _ct));
        Assert.Equal([oldWriter, newWriter], record!.Writers);
        Assert.Equal([oldWriter, newWriter], _h.Journal.Get("db1")!.Writers);
        Assert.Equal(LeaseState.Held, (await _h.Inspector.InspectAsync("db1", _ct)).State);
    }

    [Fact]
    public async Task Restart_MappingAwaitingReattach_ButAnotherHostTookOver_NeverReattached_DeviceReleased()
    {
        // Arrange: while the plugin was down, host-b took the volume over
        var entry = await MountThenLoseOurMountAsync();
        _h.Host.KillServer(Image);
        _h.Stop();
        _h.Time.Advance(TimeSpan.FromSeconds(31));
        var obj = new RadosObject("rbd", "", LeaseObjects.ObjectNameOf("db1"));
        await _h.Ceph.SetOmapKeyAsync(obj, LeaseObjects.OwnerKey, new LeaseRecord("host-b", HostB.Cookie, HostB.Address, _h.Time.GetUtcNow()).ToJson(), _ct);
        _h.Ceph.HoldLock(obj, LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));
        _h.Host.Log.Clear();

        // Act
        var report = await _h.RestartAsync();

        // Assert: a new client would write the queued I/O over host-b's: none is made, the waiting device is unmapped
        Assert.Equal(1, report.Lost);
        Assert.DoesNotContain("reattach", _h.Host.Log);
        Assert.Contains("unmap", _h.Host.Log);
        Assert.Empty(_h.Host.AwaitingReattach);
        Assert.DoesNotContain(entry.Mountpoint, _h.Host.Mounts.Keys);
        Assert.Null(_h.Journal.Get("db1"));
    }

    [Fact]
    public async Task Restart_ReattachFails_DroppedWithTheReasonReported_LeaseReleased()
    {
        // Arrange: the kernel gave the device up between the check and the attach
        await MountThenLoseOurMountAsync();
        _h.Host.KillServer(Image);
        _h.Host.FailOn = step => step == "reattach" ? new HostCommandException("rbd device attach", 22, "netlink connect failed", "netlink connect failed") : null;

        // Act
        var report = await _h.RestartAsync();

        // Assert
        Assert.Equal(1, report.Dropped);
        Assert.Contains(report.Problems, p => p.Contains("could not be re-attached", StringComparison.Ordinal) && p.Contains("netlink connect failed", StringComparison.Ordinal));
        Assert.Empty(_h.Host.AwaitingReattach);
        Assert.Null(_h.Journal.Get("db1"));
        Assert.Equal(LeaseState.None, (await _h.Inspector.InspectAsync("db1", _ct)).State);
    }
}
