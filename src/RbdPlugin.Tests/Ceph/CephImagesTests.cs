using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

public sealed class CephImagesTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task CreateImage_WithSizeFeaturesOrderMetadata_RbdInfoAndImageMetaAgree()
    {
        // Arrange
        var image = NewImage();
        var metadata = new Dictionary<string, string?> { ["rbd-plugin.owner"] = "test", ["rbd-plugin.fstype"] = "xfs" };

        // Act
        await Cluster.Images.CreateImageAsync(
            new ImageCreateRequest(image, 96UL << 20, RbdFeatures.Layering | RbdFeatures.ExclusiveLock, 23, null, metadata), None);

        // Assert
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", image.ToString())).EnsureSuccess("rbd info").Json;
        Assert.Equal(96L << 20, info.GetProperty("size").GetInt64());
        Assert.Equal(23, info.GetProperty("order").GetInt32());
        Assert.Equal(8L << 20, info.GetProperty("object_size").GetInt64());
        Assert.Equal(["layering", "exclusive-lock"], info.GetProperty("features").EnumerateArray().Select(f => f.GetString()!));
        foreach (var (key, value) in metadata)
        {
            var meta = (await CephCli.RunAsync("rbd", "image-meta", "get", image.ToString(), key)).EnsureSuccess("rbd image-meta get");
            Assert.Equal(value, meta.Stdout.TrimEnd('\n'));
        }
    }

    [Fact]
    public async Task CreateImage_WithDataPool_PutsDataInThatPool()
    {
        var image = NewImage();

        await Cluster.Images.CreateImageAsync(
            new ImageCreateRequest(image, 16UL << 20, null, null, DevCluster.ExtraPool, new Dictionary<string, string?>()), None);

        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", image.ToString())).EnsureSuccess("rbd info").Json;
        Assert.Equal(DevCluster.ExtraPool, info.GetProperty("data_pool").GetString());
        Assert.Contains("data-pool", info.GetProperty("features").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public async Task CreateImage_NameTaken_ThrowsEexistAndKeepsTheFirst()
    {
        var image = await CreateImageAsync(new Dictionary<string, string> { ["k"] = "first" });

        var error = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.CreateImageAsync(
            new ImageCreateRequest(image, 32UL << 20, null, null, null, new Dictionary<string, string?> { ["k"] = "second" }), None));

        Assert.Equal(Errno.EEXIST, error.Errno);
        Assert.Contains(image.ToString(), error.Message, StringComparison.Ordinal);
        var stat = await Cluster.Images.StatImageAsync(image, ["k"], None);
        Assert.Equal(16UL << 20, stat!.SizeBytes);
        Assert.Equal("first", stat.Metadata["k"]);
    }

    [Fact]
    public async Task CreateImage_MetadataRefused_LeavesNoImageBehind()
    {
        // librbd refuses "conf_" keys that name no config option: the create must not leave half a volume.
        var image = NewImage();
        var request = new ImageCreateRequest(image, 16UL << 20, null, null, null,
            new Dictionary<string, string?> { ["rbd-plugin.owner"] = "test", ["conf_no_such_option"] = "1" });

        var error = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.CreateImageAsync(request, None));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.Null(await Cluster.Images.StatImageAsync(image, [], None));
        var info = await CephCli.RunAsync("rbd", "info", image.ToString());
        Assert.Equal(Errno.ENOENT, info.ExitCode);
    }

    [Fact]
    public async Task StatImage_Existing_ReturnsSizeFeaturesAndOnlyTheMetadataThatExists()
    {
        // A value longer than the first buffer exercises the ERANGE-and-grow path of rbd_metadata_get.
        var longValue = string.Concat(Enumerable.Repeat("ü0123456789", 500));
        var image = await CreateImageAsync(new Dictionary<string, string> { ["a"] = "1", ["long"] = longValue });

        var stat = await Cluster.Images.StatImageAsync(image, ["a", "long", "absent"], None);

        Assert.NotNull(stat);
        Assert.Equal(image, stat.Image);
        Assert.Equal(16UL << 20, stat.SizeBytes);
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", image.ToString())).EnsureSuccess("rbd info").Json;
        var cliFeatures = info.GetProperty("features").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Equal(cliFeatures, RbdFeatures.Names(stat.Features));
        Assert.Equal(2, stat.Metadata.Count);
        Assert.Equal("1", stat.Metadata["a"]);
        Assert.Equal(longValue, stat.Metadata["long"]);
    }

    [Fact]
    public async Task StatImage_Missing_ReturnsNull()
    {
        Assert.Null(await Cluster.Images.StatImageAsync(DevCluster.NewImage(), ["a"], None));
    }

    [Fact]
    public async Task SetImageMetadata_Existing_RbdImageMetaSeesIt()
    {
        var image = await CreateImageAsync();

        await Cluster.Images.SetImageMetadataAsync(image, "rbd-plugin.state", "mounted on host-a", None);

        var meta = (await CephCli.RunAsync("rbd", "image-meta", "get", image.ToString(), "rbd-plugin.state")).EnsureSuccess("rbd image-meta get");
        Assert.Equal("mounted on host-a", meta.Stdout.TrimEnd('\n'));
    }

    [Fact]
    public async Task SetImageMetadata_Missing_ThrowsEnoent()
    {
        var error = await Assert.ThrowsAsync<CephException>(
            () => Cluster.Images.SetImageMetadataAsync(DevCluster.NewImage(), "k", "v", None));

        Assert.Equal(Errno.ENOENT, error.Errno);
    }

    [Fact]
    public async Task RemoveImage_Existing_IsGoneAndASecondRemoveReturnsFalse()
    {
        var image = await CreateImageAsync();

        Assert.True(await Cluster.Images.RemoveImageAsync(image, None));
        Assert.False(await Cluster.Images.RemoveImageAsync(image, None));

        var info = await CephCli.RunAsync("rbd", "info", image.ToString());
        Assert.Equal(Errno.ENOENT, info.ExitCode);
    }

    [Fact]
    public async Task Operations_InAPoolThatDoesNotExist_ThrowEnoentNamingThePool()
    {
        var image = new ImageRef("no-such-pool", "", DevCluster.NewName());

        var error = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.StatImageAsync(image, [], None));

        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.Contains("no-such-pool", error.Operation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatImage_ManyAtOnce_AllSucceedOnTheSharedConnection()
    {
        var image = await CreateImageAsync(new Dictionary<string, string> { ["a"] = "1" });

        var stats = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Cluster.Images.StatImageAsync(image, ["a"], None)));

        Assert.All(stats, s => Assert.Equal("1", s!.Metadata["a"]));
    }
}
