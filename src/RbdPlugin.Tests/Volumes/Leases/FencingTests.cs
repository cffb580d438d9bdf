using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Leases;

/// <summary>Over fakes: a fenced daemon fails every verb at once; lost volumes end their client first; removal
/// takes the lease object with it and a Mount racing it leaves none behind.</summary>
[Trait("Tier", "Fast")]
public sealed class FencingTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly Locker HostB = new("client.777", "host-b/feedfacecafe", "127.0.0.1:0/777");
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private static string Obj(string name) => LeaseObjects.ObjectNameOf(name);

    private async Task FenceAndWaitUntilNoticedAsync()
    {
        _h.Ceph.Blocklist.Add(_h.Ceph.InstanceAddress);
        _h.Time.Advance(TimeSpan.FromSeconds(10)); // the next renewal
        for (var i = 0; i < 300 && (!_h.Driver.Fence.IsFenced || _h.Journal.All.Count > 0); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(_h.Driver.Fence.IsFenced);
    }

    [Fact]
    public async Task Fenced_EveryVerbFailsAtOnce_NamingTheFenceAndTheRestart()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);

        await FenceAndWaitUntilNoticedAsync();

        var verbs = new Func<Task>[]
        {
            () => _h.Driver.MountAsync("db1", IdA, _ct),
            () => _h.Driver.UnmountAsync("db1", IdA, _ct),
            () => _h.Driver.RemoveAsync("db1", _ct),
            () => _h.Driver.CreateAsync("db2", null, _ct),
            () => _h.Driver.GetAsync("db1", _ct),
            () => _h.Driver.ListAsync(_ct),
            () => _h.Driver.PathAsync("db1", _ct),
        };
        foreach (var verb in verbs)
        {
            var e = await Assert.ThrowsAsync<VolumeException>(verb);
            Assert.Contains("this host (host-a) was fenced", e.Message, StringComparison.Ordinal);
            Assert.Contains(_h.Ceph.InstanceAddress, e.Message, StringComparison.Ordinal);
            Assert.Contains("Restart the rbd-plugin daemon", e.Message, StringComparison.Ordinal);
        }

        Assert.Null(_h.Journal.Get("db1"));
    }

    [Fact]
    public async Task Fenced_CloneCreateSnapshotAndGrow_GoThroughTheSameFenceAndFailAtOnce()
    {
        // Arrange: a mounted volume with a snapshot to clone from, then the fence
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.SnapshotAsync("db1", "s1", _ct);
        await FenceAndWaitUntilNoticedAsync();
        var before = _h.Ceph.Calls.Count;

        // Act + Assert: the verbs the runbook and -o from-snapshot use are refused like Docker's own
        var verbs = new Func<Task>[]
        {
            () => _h.Driver.CreateAsync("c1", new Dictionary<string, string> { ["from-snapshot"] = "db1@s1" }, _ct),
            () => _h.Driver.SnapshotAsync("db1", "s2", _ct),
            () => _h.Driver.GrowAsync("db1", _ct),
        };
        foreach (var verb in verbs)
        {
            var e = await Assert.ThrowsAsync<VolumeException>(verb);
            Assert.Contains("this host (host-a) was fenced", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, _h.Ceph.Calls.Count); // refused before any Ceph call
        Assert.DoesNotContain(new ImageRef("rbd", "", "c1"), _h.Ceph.Images.Keys);
        Assert.Empty(_h.Host.Frozen);
    }

    [Fact]
    public async Task LeaseLost_EndsTheMappingsClientBeforeUnmounting()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Ceph.HoldLock("rbd", "", Obj("db1"), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));

        _h.Time.Advance(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 300 && _h.Journal.Get("db1") is not null; i++)
        {
            await Task.Delay(10);
        }

        var log = _h.Host.Log.ToList();
        Assert.True(log.IndexOf("abandon") >= 0 && log.IndexOf("abandon") < log.LastIndexOf("umount"), string.Join(",", log));
        Assert.False(_h.Driver.Fence.IsFenced); // a broken lock is not a fence: other volumes keep working
    }

    [Fact]
    public async Task Remove_DeletesTheLeaseObject()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);

        await _h.Driver.RemoveAsync("db1", _ct);

        Assert.False(_h.Ceph.Objects.ContainsKey($"rbd//{Obj("db1")}"));
        Assert.Empty(_h.Ceph.Locks);
    }

    [Fact]
    public async Task Remove_LeaseHeldByAnotherHost_RefusedNamingIt_VolumeAndLeaseKept()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Ceph.HoldLock("rbd", "", Obj("db1"), LeaseObjects.LockName, HostB, TimeSpan.FromSeconds(30));

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.RemoveAsync("db1", _ct));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("mounted on host host-b", e.Message, StringComparison.Ordinal);
        Assert.Single(_h.Ceph.Images);
        Assert.Equal(HostB, _h.Ceph.Locks.Values.Single().Holder);
    }

    [Fact]
    public async Task Mount_VolumeRemovedWhileWaitingForTheLease_NotFound_NoLeaseObjectLeft()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        // Another host removes the volume between this Mount's look-up and its lock: the lock finds the index entry gone.
        _h.Ceph.FailOn = call =>
        {
            if (call == "Lock")
            {
                _h.Ceph.Objects[$"rbd//{VolumeCatalog.IndexObject}"].TryRemove("db1", out _);
            }

            return null;
        };

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal(VolumeErrorKind.NotFound, e.Kind);
        Assert.False(_h.Ceph.Objects.ContainsKey($"rbd//{Obj("db1")}"));
        Assert.Empty(_h.Ceph.Locks);
        Assert.Empty(_h.Renewer.Held);
        Assert.DoesNotContain("map", _h.Host.Log);
    }
}
