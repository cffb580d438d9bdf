using Microsoft.Extensions.DependencyInjection;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Leases;

/// <summary>Ownership across hosts over fakes: another host's lease, takeover with fencing, loss, restart.</summary>
[Trait("Tier", "Fast")]
public sealed class LeaseTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string HostBAddress = "127.0.0.1:0/777";
    private static readonly Locker HostB = new("client.777", "host-b/feedfacecafe", HostBAddress);
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private static string Obj(string name) => LeaseObjects.ObjectNameOf(name);

    private async Task CreateHeldByHostBAsync(string name, bool withRecord = true)
    {
        await _h.Driver.CreateAsync(name, null, _ct);
        _h.Ceph.HoldLock("rbd", "", Obj(name), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));
        if (withRecord)
        {
            var record = new LeaseRecord("host-b", HostB.Cookie, HostBAddress, _h.Time.GetUtcNow() - TimeSpan.FromMinutes(5));
            await _h.Ceph.SetOmapKeyAsync(new RadosObject("rbd", "", Obj(name)), LeaseObjects.OwnerKey, record.ToJson(), _ct);
        }
    }

    [Fact]
    public async Task Mount_LeaseHeldByOtherHost_InUseNamingOwnerSinceAndTakeover_NothingMapped()
    {
        await CreateHeldByHostBAsync("db1");

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("in use on host host-b since 2026-11-27T09:55:00Z", e.Message, StringComparison.Ordinal);
        Assert.Contains("rbd-plugin volume takeover db1 --force", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("map", _h.Host.Log);
        Assert.Empty(_h.Ceph.Blocklist);
        Assert.Null(_h.Journal.Get("db1"));
    }

    [Fact]
    public async Task Mount_OtherHostReleasesWithinWait_Mounts()
    {
        await CreateHeldByHostBAsync("db1", withRecord: false);
        // The harness's settings have no wait; this keeper waits 5 s.
        using var waiting = _h.Another(_h.Settings with { LeaseWait = TimeSpan.FromSeconds(5) });
        var mount = waiting.GetRequiredService<LeaseAcquirer>().AcquireAsync("db1", new ImageRef("rbd", "", "db1"), _ => Task.CompletedTask, _ct);
        await Task.Delay(50);
        Assert.False(mount.IsCompleted);

        _h.Ceph.Locks.Clear(); // host-b unmounted and released cleanly
        _h.Time.Advance(TimeSpan.FromMilliseconds(300));

        var record = await mount.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("host-a", record.Host);
        Assert.Empty(_h.Ceph.Blocklist); // a clean release leaves nothing to fence
    }

    [Fact]
    public async Task Mount_WallClockStepsAnHourWhileWaiting_StillWaitsItsWholeLeaseWait()
    {
        // Arrange: host-b holds the lease; this keeper waits 5 s on a clock that NTP is about to step
        await CreateHeldByHostBAsync("db1", withRecord: false);
        var clock = new SteppedClock(_h.Time);
        using var waiting = _h.Another(_h.Settings with { LeaseWait = TimeSpan.FromSeconds(5) }, clock);
        var mount = waiting.GetRequiredService<LeaseAcquirer>().AcquireAsync("db1", new ImageRef("rbd", "", "db1"), _ => Task.CompletedTask, _ct);

        // Act: the wall clock jumps an hour ahead, and the Mount polls again
        clock.Step = TimeSpan.FromHours(1);
        _h.Time.Advance(TimeSpan.FromMilliseconds(300));
        await Task.Delay(50);

        // Assert: still waiting (a deadline on the wall clock would have given up at once); then host-b lets go
        Assert.False(mount.IsCompleted, mount.Exception?.InnerException?.Message);
        _h.Ceph.Locks.Clear();
        _h.Time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Equal("host-a", (await mount.WaitAsync(TimeSpan.FromSeconds(5))).Host);
    }

    [Fact]
    public async Task Mount_LeaseLapsedWithoutRelease_FencesOldOwnerAndWatchersBeforeMapping()
    {
        await CreateHeldByHostBAsync("db1");
        _h.Ceph.Watchers[new ImageRef("rbd", "", "db1")] = [new Watcher("127.0.0.1:0/888", 888)]; // host-b's rbd-fuse
        List<string>? cephCallsAtMap = null;
        _h.Host.FailOn = step =>
        {
            if (step == "map")
            {
                lock (_h.Ceph.Calls)
                {
                    cephCallsAtMap = [.. _h.Ceph.Calls];
                }
            }

            return null;
        };
        _h.Time.Advance(TimeSpan.FromSeconds(31)); // host-b died: nobody renewed

        var mountpoint = await _h.Driver.MountAsync("db1", IdA, _ct);

        Assert.Equal(Path.Combine(_h.Settings.MountRoot, "db1"), mountpoint);
        Assert.Equal(["127.0.0.1:0/777", "127.0.0.1:0/888"], _h.Ceph.Blocklist.Order(StringComparer.Ordinal));
        Assert.NotNull(cephCallsAtMap);
        var lockAt = cephCallsAtMap.IndexOf("Lock");
        Assert.True(lockAt >= 0);
        Assert.Equal(2, cephCallsAtMap.Skip(lockAt).Count(c => c == "BlocklistAdd")); // both fenced before the map
        var info = await _h.Driver.GetAsync("db1", _ct);
        Assert.Equal("held", info!.Status["lease"]);
        Assert.Equal("host-a", info.Status["owner"]);
    }

    [Fact]
    public async Task Mount_RecordsItsWriters_ATakeoverAfterTheirWatchTimedOutFencesThemToo()
    {
        // Arrange: host-a mounts (its mapping's client watches the image), then freezes: no more renewals, and the
        // OSD times its writer's watch out, so the image shows no watcher any more
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        var writer = _h.Host.Writers[new ImageRef("rbd", "", "db1")].Address;
        var daemonA = _h.Ceph.InstanceAddress;
        var record = LeaseRecord.FromJson(await _h.Ceph.ReadOmapKeyAsync(new RadosObject("rbd", "", Obj("db1")), LeaseObjects.OwnerKey, _ct));
        Assert.Equal([writer], record!.Writers);
        _h.Stop();
        _h.Ceph.Watchers.Clear();
        _h.Time.Advance(TimeSpan.FromSeconds(31));

        // Act: host-b (another client, another state dir) takes the lapsed lease
        _h.Ceph.InstanceId++;
        var stateB = Path.Combine(_h.Root, "state-b");
        using var hostB = _h.Another(_h.Settings with { HostId = "host-b", StateDir = stateB });
        await hostB.GetRequiredService<LeaseAcquirer>().AcquireAsync("db1", new ImageRef("rbd", "", "db1"), _ => Task.CompletedTask, _ct);

        // Assert: the frozen host's writer is fenced with its daemon, though nothing showed it as a watcher
        Assert.Equal(new[] { daemonA, writer }.Order(StringComparer.Ordinal), _h.Ceph.Blocklist.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Mount_WatcherWithoutAnyOwner_IsFencedToo()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Ceph.Watchers[new ImageRef("rbd", "", "db1")] = [new Watcher("127.0.0.1:0/999", 999)];

        await _h.Driver.MountAsync("db1", IdA, _ct);

        Assert.Equal(["127.0.0.1:0/999"], _h.Ceph.Blocklist);
    }

    [Fact]
    public async Task Unmount_AfterGrace_ReleasesLeaseAfterUnmap_NextOwnerFencesNobody()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        Assert.Single(_h.Ceph.Locks);

        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();
        await WaitUntilAsync(() => _h.Ceph.Locks.IsEmpty);

        Assert.Contains("unmap", _h.Host.Log);
        Assert.Null(await _h.Ceph.ReadOmapKeyAsync(new RadosObject("rbd", "", Obj("db1")), LeaseObjects.OwnerKey, _ct));
        Assert.Equal("none", (await _h.Driver.GetAsync("db1", _ct))!.Status["lease"]);
    }

    [Fact]
    public async Task Renewal_LockBrokenByOtherHost_VolumeReleasedLocallyAndNotReacquired()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);

        // host-b forced a takeover: our lock is gone and theirs is in place.
        _h.Ceph.HoldLock("rbd", "", Obj("db1"), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));
        _h.Time.Advance(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => _h.Journal.Get("db1") is null);

        Assert.Contains("umount", _h.Host.Log);
        Assert.Contains("unmap", _h.Host.Log);
        Assert.Empty(_h.Host.Mounts);
        Assert.Equal(HostB, _h.Ceph.Locks.Values.Single().Holder); // never re-acquired, never unlocked
        Assert.Empty(_h.Renewer.Held);
    }

    [Fact]
    public async Task Renewal_ArrivesAfterTheLockLapsedInAStall_NobodyTookIt_TakesItBackAndKeepsTheVolume()
    {
        // Arrange: a mounted volume; the next renewal reaches the OSD only after a 31 s stall, when the OSD has
        // already dropped our lock as expired (cls_lock answers ENOENT).
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        var stalled = 0;
        _h.Ceph.FailOn = call =>
        {
            if (call == "RenewLock" && Interlocked.Exchange(ref stalled, 1) == 0)
            {
                _h.Time.Advance(TimeSpan.FromSeconds(31));
            }

            return null;
        };

        // Act: the renewal is due
        _h.Time.Advance(LeaseRenewer.IntervalOf(_h.Settings.LeaseDuration));
        await WaitUntilAsync(() => _h.Ceph.Calls.Count(c => c == "Lock") >= 2); // the Mount's, then the take-back

        // Assert: still ours, still mounted, still renewed
        Assert.NotNull(_h.Journal.Get("db1"));
        Assert.Contains("db1", _h.Renewer.Held);
        Assert.NotEmpty(_h.Host.Mounts);
        var holder = _h.Ceph.Locks.Values.Single().Holder;
        Assert.Equal(_h.Ceph.ClientName, holder.Client);
        Assert.Empty(_h.Ceph.Blocklist);
    }

    [Fact]
    public async Task Renewal_ArrivesAfterTheLockLapsed_AnotherHostTookItMeanwhile_VolumeReleased()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        var stalled = 0;
        _h.Ceph.FailOn = call =>
        {
            if (call == "RenewLock" && Interlocked.Exchange(ref stalled, 1) == 0)
            {
                _h.Time.Advance(TimeSpan.FromSeconds(31));
                _h.Ceph.HoldLock("rbd", "", Obj("db1"), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));
            }

            return null;
        };

        _h.Time.Advance(LeaseRenewer.IntervalOf(_h.Settings.LeaseDuration));
        await WaitUntilAsync(() => _h.Journal.Get("db1") is null);

        Assert.Equal(HostB, _h.Ceph.Locks.Values.Single().Holder);
        Assert.Empty(_h.Renewer.Held);
    }

    [Fact]
    public async Task Renewal_ClientBlocklisted_BusyMountDetachedLazily()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Host.FailOn = step => step == "umount" ? new RbdPlugin.Node.HostCommandException("umount: target is busy") : null;

        _h.Ceph.Blocklist.Add(_h.Ceph.InstanceAddress);
        _h.Time.Advance(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => _h.Journal.Get("db1") is null);

        Assert.Contains("umount-lazy", _h.Host.Log);
        Assert.Contains("unmap", _h.Host.Log);
    }

    [Fact]
    public async Task Restart_WithMountedVolume_RetakesOwnLeaseWithoutFencing()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        var before = _h.Ceph.Locks.Values.Single().Holder;

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Kept);
        Assert.Equal(0, report.Lost);
        var after = _h.Ceph.Locks.Values.Single().Holder;
        Assert.NotEqual(before.Client, after.Client);
        Assert.Equal(before.Cookie, after.Cookie);
        Assert.Empty(_h.Ceph.Blocklist);
        Assert.Contains("db1", _h.Renewer.Held);
        Assert.NotEmpty(_h.Host.Mounts);
    }

    [Fact]
    public async Task Restart_AfterOtherHostTookOver_ReleasesLocallyAndStaysOff()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Stop();
        _h.Time.Advance(TimeSpan.FromSeconds(31)); // our daemon was dead long enough
        var record = new LeaseRecord("host-b", HostB.Cookie, HostBAddress, _h.Time.GetUtcNow());
        await _h.Ceph.SetOmapKeyAsync(new RadosObject("rbd", "", Obj("db1")), LeaseObjects.OwnerKey, record.ToJson(), _ct);
        _h.Ceph.HoldLock("rbd", "", Obj("db1"), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Lost);
        Assert.Equal(0, report.Kept);
        Assert.Empty(_h.Host.Mounts);
        Assert.Null(_h.Journal.Get("db1"));
        Assert.Equal(HostB, _h.Ceph.Locks.Values.Single().Holder);
        var info = await _h.Driver.GetAsync("db1", _ct);
        Assert.Equal("host-b", info!.Status["owner"]);
    }

    [Fact]
    public async Task Restart_LeaseLapsedButNobodyTookIt_KeepsTheVolume()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Time.Advance(TimeSpan.FromSeconds(5));

        _h.Stop();
        _h.Time.Advance(TimeSpan.FromSeconds(40));
        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Kept);
        Assert.Empty(_h.Ceph.Blocklist);
    }

    [Fact]
    public async Task Get_OwnerDiedWithoutRelease_ShowsExpired()
    {
        await CreateHeldByHostBAsync("db1");
        _h.Time.Advance(TimeSpan.FromSeconds(31));

        var info = await _h.Driver.GetAsync("db1", _ct);

        Assert.Equal("expired", info!.Status["lease"]);
        Assert.Equal("host-b", info.Status["owner"]);
        Assert.Equal("2026-11-27T09:55:00Z", info.Status["ownerSince"]);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
