using RbdPlugin.Tests.Infrastructure;
using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Ceph;

public sealed class RadosOmapTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task SetOmapKey_NewObject_CreatesItAndRadosReadsTheValue()
    {
        var pool = DevCluster.Pool;
        var obj = NewObject(pool);

        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(pool, "", obj), "volume.db1", "{\"image\":\"db1\",\"größe\":\"10G\"}", None);

        Assert.Equal("{\"image\":\"db1\",\"größe\":\"10G\"}", await Cluster.Omap.ReadOmapKeyAsync(new RadosObject(pool, "", obj), "volume.db1", None));
        var file = Path.GetTempFileName();
        try
        {
            (await CephCli.RunAsync("rados", "-p", pool, "getomapval", obj, "volume.db1", file)).EnsureSuccess("rados getomapval");
            Assert.Equal("{\"image\":\"db1\",\"größe\":\"10G\"}", await File.ReadAllTextAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task SetOmapKey_ExistingKey_Overwrites()
    {
        var obj = NewObject(DevCluster.Pool);
        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", "old", None);

        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", "", None);

        Assert.Equal("", await Cluster.Omap.ReadOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", None));
    }

    [Fact]
    public async Task ReadOmap_WrittenByRados_ReturnsEveryPair()
    {
        var obj = NewObject(DevCluster.Pool);
        (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "setomapval", obj, "a", "1")).EnsureSuccess("rados setomapval");
        (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "setomapval", obj, "b", "two")).EnsureSuccess("rados setomapval");

        var all = await Cluster.Omap.ReadOmapAsync(new RadosObject(DevCluster.Pool, "", obj), None);

        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "two" }, all);
    }

    [Fact]
    public async Task ReadOmap_MoreKeysThanOnePage_PagesThroughAll()
    {
        var obj = NewObject(DevCluster.Pool);
        var expected = Enumerable.Range(0, 2100).ToDictionary(i => $"key-{i:D5}", i => $"value {i}");
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (kv, ct) => await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), kv.Key, kv.Value, ct));

        var all = await Cluster.Omap.ReadOmapAsync(new RadosObject(DevCluster.Pool, "", obj), None);

        Assert.Equal(expected, all);
    }

    [Fact]
    public async Task ReadOmap_MissingObject_IsEmpty()
    {
        Assert.Empty(await Cluster.Omap.ReadOmapAsync(new RadosObject(DevCluster.Pool, "", DevCluster.NewName()), None));
        Assert.Empty(await Cluster.Omap.ReadOmapKeysAsync(new RadosObject(DevCluster.Pool, "", DevCluster.NewName()), None));
    }

    [Fact]
    public async Task ReadOmapKeys_MoreKeysThanOnePage_EveryKeyOnceInOrder()
    {
        var obj = NewObject(DevCluster.Pool);
        var expected = Enumerable.Range(0, 2100).Select(i => $"key-{i:D5}").ToList();
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (key, ct) => await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), key, new string('v', 300), ct));

        var keys = await Cluster.Omap.ReadOmapKeysAsync(new RadosObject(DevCluster.Pool, "", obj), None);

        Assert.Equal(expected, keys);
    }

    [Fact]
    public async Task ReadOmapKey_MissingObjectOrKey_IsNull()
    {
        var obj = NewObject(DevCluster.Pool);
        Assert.Null(await Cluster.Omap.ReadOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", None));

        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "other", "v", None);

        Assert.Null(await Cluster.Omap.ReadOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", None));
    }

    [Fact]
    public async Task RemoveOmapKey_Existing_RemovesOnlyThatKey()
    {
        var obj = NewObject(DevCluster.Pool);
        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "a", "1", None);
        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "b", "2", None);

        await Cluster.Omap.RemoveOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "a", None);
        await Cluster.Omap.RemoveOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "a", None);

        Assert.Equal(new Dictionary<string, string> { ["b"] = "2" }, await Cluster.Omap.ReadOmapAsync(new RadosObject(DevCluster.Pool, "", obj), None));
        var keys = (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "listomapkeys", obj)).EnsureSuccess("rados listomapkeys");
        Assert.Equal("b", keys.Stdout.Trim());
    }

    [Fact]
    public async Task RemoveOmapKey_MissingObject_SucceedsWithoutCreatingIt()
    {
        var obj = NewObject(DevCluster.Pool);

        await Cluster.Omap.RemoveOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "a", None);

        var stat = await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "stat", obj);
        Assert.NotEqual(0, stat.ExitCode);
        Assert.Contains("(2) No such file or directory", stat.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveObject_WithOmapAndALock_GoneForRados_AgainIsFine()
    {
        var obj = NewObject(DevCluster.Pool);
        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "owner", "x", None);
        Assert.True(await Cluster.Locks.LockExclusiveAsync(new RadosObject(DevCluster.Pool, "", obj), "l", "c", "", TimeSpan.FromSeconds(30),
            RbdPlugin.Ceph.LockMode.Acquire, None));

        await Cluster.Omap.RemoveObjectAsync(new RadosObject(DevCluster.Pool, "", obj), None);
        await Cluster.Omap.RemoveObjectAsync(new RadosObject(DevCluster.Pool, "", obj), None); // idempotent

        var stat = await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "stat", obj);
        Assert.Contains("(2) No such file or directory", stat.Stderr, StringComparison.Ordinal);
        Assert.Empty(await Cluster.Locks.ListLockersAsync(new RadosObject(DevCluster.Pool, "", obj), "l", None));
    }

    [Fact]
    public async Task Omap_SameObjectNameInTwoNamespaces_AreSeparateObjects()
    {
        // One ioctx per (pool, namespace): a namespace is never switched on a shared ioctx.
        var obj = NewObject(DevCluster.Pool);
        var ns = "t-ns-" + obj;
        TrackObject(DevCluster.Pool, ns, obj);

        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", "default", None);
        await Cluster.Omap.SetOmapKeyAsync(new RadosObject(DevCluster.Pool, ns, obj), "k", "namespaced", None);

        Assert.Equal("default", await Cluster.Omap.ReadOmapKeyAsync(new RadosObject(DevCluster.Pool, "", obj), "k", None));
        Assert.Equal("namespaced", await Cluster.Omap.ReadOmapKeyAsync(new RadosObject(DevCluster.Pool, ns, obj), "k", None));
        var listed = (await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "-N", ns, "ls")).EnsureSuccess("rados ls");
        Assert.Equal(obj, listed.Stdout.Trim());
    }
}
