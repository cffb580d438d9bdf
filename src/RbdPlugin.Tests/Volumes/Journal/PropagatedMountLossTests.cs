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
}
