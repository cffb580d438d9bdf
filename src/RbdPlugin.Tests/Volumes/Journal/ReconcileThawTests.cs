using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Journal;

/// <summary>
/// A daemon killed between fsfreeze and thaw (a snapshot of a mounted volume) leaves the filesystem frozen, and every
/// writer in the container hangs. The restarted daemon's reconcile thaws every volume it finds mounted.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ReconcileThawTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly Locker HostB = new("client.777", "host-b/feedfacecafe", "127.0.0.1:0/777");
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private async Task<string> MountFrozenAsync()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        var mountpoint = await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Host.FreezeAsync(mountpoint, TimeSpan.FromSeconds(1), _ct); // the daemon dies here, before its thaw
        _h.Host.Log.Clear();
        return mountpoint;
    }

    [Fact]
    public async Task Restart_KeptVolumeLeftFrozen_ThawedBeforeTheFirstRequest()
    {
        // Arrange
        var mountpoint = await MountFrozenAsync();

        // Act
        var report = await _h.RestartAsync();

        // Assert
        Assert.Equal(1, report.Kept);
        Assert.DoesNotContain(mountpoint, _h.Host.Frozen);
        Assert.Equal(["thaw"], _h.Host.Log);
    }

    [Fact]
    public async Task Restart_IdleVolumeLeftFrozen_ThawedThenReleased()
    {
        // Arrange: frozen during its grace period, then the daemon died.
        var mountpoint = await MountFrozenAsync();
        await _h.Driver.UnmountAsync("db1", IdA, _ct);

        // Act
        var report = await _h.RestartAsync();

        // Assert
        Assert.Equal(1, report.Released);
        Assert.Empty(_h.Host.Frozen);
        Assert.Equal(["thaw", "umount"], _h.Host.Log.Take(2));
        Assert.DoesNotContain(mountpoint, _h.Host.Mounts.Keys);
    }

    [Fact]
    public async Task Restart_LostVolumeLeftFrozen_ThawedOnlyAfterItsClientWasEnded()
    {
        // Arrange: while the daemon was dead, host B took the volume over.
        await MountFrozenAsync();
        _h.Stop();
        _h.Time.Advance(TimeSpan.FromSeconds(31));
        var obj = new RadosObject("rbd", "", LeaseObjects.ObjectNameOf("db1"));
        await _h.Ceph.SetOmapKeyAsync(obj, LeaseObjects.OwnerKey, new LeaseRecord("host-b", HostB.Cookie, HostB.Address, _h.Time.GetUtcNow()).ToJson(), _ct);
        _h.Ceph.HoldLock(obj, LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));

        // Act
        var report = await _h.RestartAsync();

        // Assert: no write of this host's containers may land before its client is gone; then they must not hang.
        Assert.Equal(1, report.Lost);
        Assert.Empty(_h.Host.Frozen);
        Assert.Equal(["abandon", "thaw", "umount"], _h.Host.Log.Take(3));
    }

    [Fact]
    public async Task Restart_ThawFails_VolumeStillKeptAndTheRestReconciled()
    {
        // Arrange
        await MountFrozenAsync();
        _h.Host.FailOn = step => step == "thaw" ? new RbdPlugin.Node.HostCommandException("fsfreeze --unfreeze", 1, "boom", "`fsfreeze --unfreeze` exited with code 1: boom") : null;

        // Act
        var report = await _h.RestartAsync();

        // Assert
        Assert.Equal(1, report.Kept);
        Assert.Contains(report.Problems, p => p.Contains("thaw", StringComparison.Ordinal) && p.Contains("db1", StringComparison.Ordinal));
    }
}
