using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

/// <summary>PeekImageAsync reads size and features from the header without opening the image: it must say what the
/// open (StatImageAsync) and `rbd info` say, also after the image changed behind the plugin's back.</summary>
public sealed class CephImagesPeekTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task PeekImage_AfterCreateResizeAndFeatureChange_AgreesWithTheOpenAndRbdInfo()
    {
        var image = await CreateImageAsync();
        await AssertPeekAgreesAsync(image, 16UL << 20);

        (await CephCli.RunAsync("rbd", "resize", "--no-progress", "--size", "48M", image.ToString())).EnsureSuccess("rbd resize");
        (await CephCli.RunAsync("rbd", "feature", "disable", image.ToString(), "fast-diff")).EnsureSuccess("rbd feature disable");

        var peek = await AssertPeekAgreesAsync(image, 48UL << 20);
        Assert.DoesNotContain("fast-diff", RbdFeatures.Names(peek.Features));
    }

    [Fact]
    public async Task PeekImage_Missing_ReturnsNull()
    {
        Assert.Null(await Cluster.Images.PeekImageAsync(DevCluster.NewImage(), None));
    }

    [Fact]
    public async Task PeekImage_DeletedBehindOurBack_ReturnsNull()
    {
        var image = await CreateImageAsync();
        Assert.NotNull(await Cluster.Images.PeekImageAsync(image, None));

        (await CephCli.RunAsync("rbd", "rm", "--no-progress", image.ToString())).EnsureSuccess("rbd rm");

        Assert.Null(await Cluster.Images.PeekImageAsync(image, None));
    }

    [Fact]
    public async Task PeekImage_InARadosNamespace_ReadsThatNamespacesDirectory()
    {
        var ns = "peek-" + DevCluster.NewName();
        (await CephCli.RunAsync("rbd", "namespace", "create", $"{DevCluster.Pool}/{ns}")).EnsureSuccess("rbd namespace create");
        var image = new ImageRef(DevCluster.Pool, ns, DevCluster.NewName());
        var twin = new ImageRef(DevCluster.Pool, "", image.Name); // same name outside the namespace: must not be read
        try
        {
            await Cluster.Images.CreateImageAsync(new ImageCreateRequest(image, 24UL << 20, null, null, null, new Dictionary<string, string?>()), None);
            await Cluster.Images.CreateImageAsync(new ImageCreateRequest(twin, 40UL << 20, null, null, null, new Dictionary<string, string?>()), None);

            Assert.Equal(24UL << 20, (await Cluster.Images.PeekImageAsync(image, None))!.SizeBytes);
            Assert.Equal(40UL << 20, (await Cluster.Images.PeekImageAsync(twin, None))!.SizeBytes);
        }
        finally
        {
            await CephCli.RunAsync("rbd", "rm", "--no-progress", image.ToString());
            await CephCli.RunAsync("rbd", "rm", "--no-progress", twin.ToString());
            await CephCli.RunAsync("rbd", "namespace", "remove", $"{DevCluster.Pool}/{ns}");
        }
    }

    private async Task<ImageInfo> AssertPeekAgreesAsync(ImageRef image, ulong expectedSize)
    {
        var peek = await Cluster.Images.PeekImageAsync(image, None);
        var stat = await Cluster.Images.StatImageAsync(image, [], None);
        Assert.NotNull(peek);
        Assert.Equal(image, peek.Image);
        Assert.Equal(expectedSize, peek.SizeBytes);
        Assert.Equal(stat!.SizeBytes, peek.SizeBytes);
        Assert.Equal(stat.Features, peek.Features);
        Assert.Empty(peek.Metadata);
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", image.ToString())).EnsureSuccess("rbd info").Json;
        Assert.Equal(info.GetProperty("features").EnumerateArray().Select(f => f.GetString()!), RbdFeatures.Names(peek.Features));
        return peek;
    }
}
