using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

/// <summary>rbd_rename and metadata updates against the dev cluster: what ImageStaging and clones rely on.</summary>
public sealed class CephImagesRenameTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task RenameImage_FreeName_KeepsIdAndMetadata()
    {
        // Arrange
        var image = await CreateImageAsync(new Dictionary<string, string> { ["k"] = "v" });
        var id = await Cluster.Images.GetImageIdAsync(image, None);
        var target = NewImage();

        // Act
        await Cluster.Images.RenameImageAsync(image, target.Name, None);

        // Assert
        Assert.Null(await Cluster.Images.StatImageAsync(image, [], None));
        Assert.Equal("v", (await Cluster.Images.StatImageAsync(target, ["k"], None))!.Metadata["k"]);
        Assert.Equal(id, await Cluster.Images.GetImageIdAsync(target, None));
    }

    [Fact]
    public async Task RenameImage_NameTaken_EexistAndBothStay()
    {
        // Arrange
        var first = await CreateImageAsync(new Dictionary<string, string> { ["who"] = "first" });
        var second = await CreateImageAsync(new Dictionary<string, string> { ["who"] = "second" });

        // Act
        var e = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.RenameImageAsync(first, second.Name, None));

        // Assert
        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Equal("first", (await Cluster.Images.StatImageAsync(first, ["who"], None))!.Metadata["who"]);
        Assert.Equal("second", (await Cluster.Images.StatImageAsync(second, ["who"], None))!.Metadata["who"]);
    }

    [Fact]
    public async Task UpdateImageMetadata_RemovesNullsSetsValues_Idempotent()
    {
        // Arrange
        var image = await CreateImageAsync(new Dictionary<string, string> { ["gone"] = "soon", ["kept"] = "yes", ["changed"] = "old" });
        var update = new Dictionary<string, string?> { ["gone"] = null, ["changed"] = "new", ["added"] = "1", ["never"] = null };

        // Act
        await Cluster.Images.UpdateImageMetadataAsync(image, update, None);
        await Cluster.Images.UpdateImageMetadataAsync(image, update, None);

        // Assert
        var meta = (await Cluster.Images.StatImageAsync(image, ["gone", "kept", "changed", "added", "never"], None))!.Metadata;
        Assert.False(meta.ContainsKey("gone"));
        Assert.False(meta.ContainsKey("never"));
        Assert.Equal("yes", meta["kept"]);
        Assert.Equal("new", meta["changed"]);
        Assert.Equal("1", meta["added"]);
    }
}
