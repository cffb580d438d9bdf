using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

/// <summary>The expiring object locks leases are made of, against the real OSD: two connections act as two hosts.</summary>
public sealed class RadosLocksTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private const string LockName = "test-lease";
    private static readonly CancellationToken None = CancellationToken.None;

    private static Task<bool> LockAsync(CephClient who, string obj, string cookie, TimeSpan duration, LockMode mode = LockMode.Acquire) =>
        who.Locks.LockExclusiveAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, cookie, "{}", duration, mode, None);

    [Fact]
    public async Task Lock_Free_TakenAndListedWithOurAddress_AgainIsStillOurs()
    {
        var obj = NewObject(DevCluster.Pool);

        Assert.True(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(30)));
        Assert.True(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(30)));

        var locker = Assert.Single(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, None));
        Assert.Equal("host-a", locker.Cookie);
        Assert.Equal(Cluster.InstanceAddress, locker.Address);
        Assert.Equal($"client.{Cluster.InstanceId}", locker.Client);
    }

    [Fact]
    public async Task Lock_HeldByOtherClient_RefusedUntilItExpires_ThenTaken()
    {
        var obj = NewObject(DevCluster.Pool);
        await using var other = await DevCluster.ConnectAsync();
        Assert.True(await LockAsync(other, obj, "host-b", TimeSpan.FromSeconds(2)));

        Assert.False(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(30)));
        // Same cookie from another client instance is still someone else (a restarted daemon must break it).
        Assert.False(await LockAsync(Cluster, obj, "host-b", TimeSpan.FromSeconds(30)));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.Empty(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, None));
        Assert.True(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(30)));
        Assert.False(await LockAsync(other, obj, "host-b", TimeSpan.FromSeconds(2), LockMode.Renew));
    }

    [Fact]
    public async Task Renew_OwnLock_Extends_ButNeverTakesAFreeOne()
    {
        var obj = NewObject(DevCluster.Pool);
        Assert.False(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(2), LockMode.Renew));
        Assert.True(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(2)));

        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.True(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(2), LockMode.Renew));
        }

        Assert.Single(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, None));
    }

    [Fact]
    public async Task BreakLock_OthersLock_GoneAndTheirRenewFails_UnlockAndBreakAreIdempotent()
    {
        var obj = NewObject(DevCluster.Pool);
        await using var other = await DevCluster.ConnectAsync();
        Assert.True(await LockAsync(other, obj, "host-b", TimeSpan.FromSeconds(30)));
        var locker = Assert.Single(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, None));

        await Cluster.Locks.BreakLockAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, locker, None);
        await Cluster.Locks.BreakLockAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, locker, None);

        Assert.False(await LockAsync(other, obj, "host-b", TimeSpan.FromSeconds(30), LockMode.Renew));
        Assert.True(await LockAsync(Cluster, obj, "host-a", TimeSpan.FromSeconds(30)));
        await Cluster.Locks.UnlockAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, "host-a", None);
        await Cluster.Locks.UnlockAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, "host-a", None);
        Assert.Empty(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", obj), LockName, None));
    }

    [Fact]
    public async Task Renew_AfterBlocklist_FailsWithEshutdown()
    {
        var obj = NewObject(DevCluster.Pool);
        var other = await DevCluster.ConnectAsync();
        try
        {
            Assert.True(await LockAsync(other, obj, "host-b", TimeSpan.FromSeconds(30)));

            await Cluster.Admin.BlocklistAddAsync(other.InstanceAddress, TimeSpan.FromMinutes(5), None);

            var e = await Assert.ThrowsAsync<CephException>(() => LockAsync(other, obj, "host-b", TimeSpan.FromSeconds(30), LockMode.Renew));
            Assert.Equal(Errno.ESHUTDOWN, e.Errno);
        }
        finally
        {
            await other.DisposeAsync();
            await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "rm", other.InstanceAddress);
        }
    }

    [Fact]
    public async Task ListLockers_NoObject_IsEmpty()
    {
        Assert.Empty(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", DevCluster.NewName()), LockName, None));
    }
}
