using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

/// <summary>The native snapshot, clone and resize calls, cross-checked with the rbd CLI on real data.</summary>
public sealed class CephSnapshotsTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>
    /// Writes 4 MiB of rbd bench's data, at random offsets or from offset 0 (seq). Two runs of one pattern can write
    /// the very same bytes at the very same offsets (seen once in CI: its generator's seed), so a second write that
    /// must change the image uses the other pattern.
    /// </summary>
    private static async Task WriteAsync(ImageRef image, string pattern = "rand") =>
        (await CephCli.RunAsync("rbd", "bench", "--io-type", "write", "--io-pattern", pattern, "--io-size", "64K", "--io-total", "4M",
            image.ToString())).EnsureSuccess("rbd bench");


    [Fact]
    public async Task CreateListRemoveSnapshot_RbdSnapLsAgrees()
    {
        var image = await CreateImageAsync();

        await Cluster.Snapshots.CreateSnapshotAsync(image, "s1", None);
        await Cluster.Snapshots.CreateSnapshotAsync(image, "s2", None);

        var listed = await Cluster.Snapshots.ListSnapshotsAsync(image, None);
        Assert.Equal(["s1", "s2"], listed.Select(s => s.Name));
        Assert.All(listed, s => Assert.Equal(16UL << 20, s.SizeBytes));
        Assert.All(listed, s => Assert.InRange(s.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1)));
        var cli = (await CephCli.RunAsync("rbd", "snap", "ls", "--format", "json", image.ToString())).EnsureSuccess("rbd snap ls").Json;
        Assert.Equal(listed.Select(s => (s.Id, s.Name)),
            cli.EnumerateArray().Select(s => (s.GetProperty("id").GetUInt64(), s.GetProperty("name").GetString()!)));

        var taken = await Assert.ThrowsAsync<CephException>(() => Cluster.Snapshots.CreateSnapshotAsync(image, "s1", None));
        Assert.Equal(Errno.EEXIST, taken.Errno);

        Assert.True(await Cluster.Snapshots.RemoveSnapshotAsync(image, "s1", None));
        Assert.False(await Cluster.Snapshots.RemoveSnapshotAsync(image, "s1", None));
        Assert.Equal(["s2"], (await Cluster.Snapshots.ListSnapshotsAsync(image, None)).Select(s => s.Name));
    }

    [Fact]
    public async Task ListSnapshots_ImageWithout_IsEmpty_MissingImage_Enoent()
    {
        var image = await CreateImageAsync();

        Assert.Empty(await Cluster.Snapshots.ListSnapshotsAsync(image, None));
        var missing = await Assert.ThrowsAsync<CephException>(() => Cluster.Snapshots.ListSnapshotsAsync(NewImage(), None));
        Assert.Equal(Errno.ENOENT, missing.Errno);
    }

    [Fact]
    public async Task Rollback_RestoresTheSnapshotsExactBytes()
    {
        var image = await CreateImageAsync();
        await WriteAsync(image);
        var before = await RbdExport.ChecksumAsync(image.ToString());
        await Cluster.Snapshots.CreateSnapshotAsync(image, "before", None);
        await WriteAsync(image, "seq");
        Assert.NotEqual(before, await RbdExport.ChecksumAsync(image.ToString()));

        await Cluster.Snapshots.RollbackSnapshotAsync(image, "before", None);

        Assert.Equal(before, await RbdExport.ChecksumAsync(image.ToString()));
    }

    [Fact]
    public async Task Clone_HasTheSnapshotsBytes_GrownToTheAskedSize_WithMetadata_AndIsAV2Child()
    {
        var source = await CreateImageAsync();
        await WriteAsync(source);
        await Cluster.Snapshots.CreateSnapshotAsync(source, "s1", None);
        var atSnapshot = await RbdExport.ChecksumAsync($"{source}@s1");
        await WriteAsync(source, "seq"); // the source moves on; the clone must not see it
        var clone = NewImage();

        await Cluster.Images.CloneImageAsync(source, "s1",
            new ImageCreateRequest(clone, 16UL << 20, null, null, null, new Dictionary<string, string?> { ["k"] = "v" }), None);

        Assert.Equal(atSnapshot, await RbdExport.ChecksumAsync(clone.ToString()));
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", clone.ToString())).EnsureSuccess("rbd info").Json;
        Assert.Equal("s1", info.GetProperty("parent").GetProperty("snapshot").GetString());
        Assert.Equal("v", (await Cluster.Images.StatImageAsync(clone, ["k"], None))!.Metadata["k"]);

        // Grown: the first 16 MiB are the snapshot's, the rest reads as zeros.
        var bigger = NewImage();
        await Cluster.Images.CloneImageAsync(source, "s1", new ImageCreateRequest(bigger, 48UL << 20, null, null, null, new Dictionary<string, string?>()), None);
        Assert.Equal(48UL << 20, (await Cluster.Images.StatImageAsync(bigger, [], None))!.SizeBytes);

        // A snapshot with a clone can still be removed (clone v2: it waits in the snapshot trash).
        Assert.True(await Cluster.Snapshots.RemoveSnapshotAsync(source, "s1", None));
        Assert.Equal(atSnapshot, await RbdExport.ChecksumAsync(clone.ToString()));
    }

    [Fact]
    public async Task Clone_MissingSnapshot_Enoent_AndNoImageLeft()
    {
        var source = await CreateImageAsync();
        var clone = NewImage();

        var e = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.CloneImageAsync(source, "nope",
            new ImageCreateRequest(clone, 16UL << 20, null, null, null, new Dictionary<string, string?>()), None));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Null(await Cluster.Images.StatImageAsync(clone, [], None));
    }

    [Fact]
    public async Task Resize_Grows_AndRefusesToShrink()
    {
        var image = await CreateImageAsync();

        await Cluster.Images.ResizeImageAsync(image, 64UL << 20, None);

        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", image.ToString())).EnsureSuccess("rbd info").Json;
        Assert.Equal(64L << 20, info.GetProperty("size").GetInt64());
        var shrink = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.ResizeImageAsync(image, 32UL << 20, None));
        Assert.Equal(Errno.EINVAL, shrink.Errno);
        Assert.Equal(64UL << 20, (await Cluster.Images.StatImageAsync(image, [], None))!.SizeBytes);
    }
}
