using System.Globalization;
using System.Text.RegularExpressions;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

public sealed partial class CephTrashTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task TrashImage_Existing_RbdTrashLsShowsItProtectedUntilTheExpiry()
    {
        // Arrange
        var image = await CreateImageAsync();
        var before = DateTimeOffset.UtcNow;

        // Act
        var id = await Cluster.Trash.TrashImageAsync(image, TimeSpan.FromHours(1), None);

        // Assert
        Assert.NotNull(id);
        TrackTrash(image.Pool, id);
        Assert.Null(await Cluster.Images.StatImageAsync(image, [], None));
        var cli = (await CephCli.RunAsync("rbd", "trash", "ls", "--long", "--format", "json", image.Pool)).EnsureSuccess("rbd trash ls").Json;
        var entry = cli.EnumerateArray().Single(e => e.GetProperty("id").GetString() == id);
        Assert.Equal(image.Name, entry.GetProperty("name").GetString());
        var protectedUntil = ParseProtectedUntil(entry.GetProperty("status").GetString()!);
        Assert.InRange(protectedUntil, before.AddHours(1).AddSeconds(-2), DateTimeOffset.UtcNow.AddHours(1).AddSeconds(2));

        var listed = (await Cluster.Trash.ListTrashAsync(image.Pool, "", None)).Single(e => e.Id == id);
        Assert.Equal(new TrashEntry(image.Pool, "", id, image.Name, protectedUntil, listed.DeletedAt), listed);
        Assert.InRange(listed.DeletedAt, before.AddSeconds(-2), DateTimeOffset.UtcNow.AddSeconds(2));
    }

    [Fact]
    public async Task TrashImage_Missing_ReturnsNull()
    {
        Assert.Null(await Cluster.Trash.TrashImageAsync(DevCluster.NewImage(), TimeSpan.FromHours(1), None));
    }

    [Fact]
    public async Task RemoveFromTrash_Expired_PurgesItAndASecondRemoveSucceeds()
    {
        var image = await CreateImageAsync();
        var id = await Cluster.Trash.TrashImageAsync(image, TimeSpan.Zero, None);
        Assert.NotNull(id);
        TrackTrash(image.Pool, id);

        await Cluster.Trash.RemoveFromTrashAsync(image.Pool, "", id, force: false, None);
        await Cluster.Trash.RemoveFromTrashAsync(image.Pool, "", id, force: false, None);

        Assert.DoesNotContain(await Cluster.Trash.ListTrashAsync(image.Pool, "", None), e => e.Id == id);
        var cli = (await CephCli.RunAsync("rbd", "trash", "ls", "--format", "json", image.Pool)).EnsureSuccess("rbd trash ls").Json;
        Assert.DoesNotContain(cli.EnumerateArray(), e => e.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task RemoveFromTrash_StillProtected_ThrowsEpermAndKeepsIt()
    {
        var image = await CreateImageAsync();
        var id = await Cluster.Trash.TrashImageAsync(image, TimeSpan.FromHours(1), None);
        Assert.NotNull(id);
        TrackTrash(image.Pool, id);

        var error = await Assert.ThrowsAsync<CephException>(() => Cluster.Trash.RemoveFromTrashAsync(image.Pool, "", id, force: false, None));

        Assert.Equal(Errno.EPERM, error.Errno);
        Assert.Contains(await Cluster.Trash.ListTrashAsync(image.Pool, "", None), e => e.Id == id);
    }

    [Fact]
    public async Task ListTrash_MoreEntriesThanTheFirstBuffer_ListsThemAll()
    {
        // rbd_trash_list starts with room for 16 entries and grows on ERANGE.
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var image = await CreateImageAsync();
            var id = await Cluster.Trash.TrashImageAsync(image, TimeSpan.Zero, None);
            TrackTrash(image.Pool, id!);
            ids.Add(id!);
        }

        var listed = await Cluster.Trash.ListTrashAsync(DevCluster.Pool, "", None);

        Assert.Subset(listed.Select(e => e.Id).ToHashSet(), ids.ToHashSet());
    }

    /// <summary>"protected until Fri Nov 27 18:42:27 2026" (ctime layout, the tool's local time zone).</summary>
    private static DateTimeOffset ParseProtectedUntil(string status)
    {
        var text = Spaces().Replace(status.Replace("protected until ", "", StringComparison.Ordinal), " ");
        var local = DateTime.ParseExact(text, "ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal);
        return new DateTimeOffset(local).ToUniversalTime();
    }

    [GeneratedRegex(" +")]
    private static partial Regex Spaces();
}
