using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Catalog;

/// <summary>
/// Remove takes the volume out of the index before its image is deleted or trashed, so no host mounts a volume
/// half-deleted (a delete of a large image outlives the lease, after which another host's Mount could take it).
/// A kill -9 before any of Remove's Ceph calls converges: the next Remove finishes, and a Create of the same name
/// never adopts the data of the volume its user removed.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class RemoveOrderTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Dictionary<string, string> Options = new() { ["size"] = "1G" };
    private static readonly RadosObject Removing = new("rbd", "", VolumeRemover.IndexObject);

    public static TheoryData<string> Actions => [nameof(RemoveAction.Delete), nameof(RemoveAction.Trash)];

    private static Task CreateAsync(DriverHarness h) => h.Driver.CreateAsync("db1", Options, None);

    private static Task RemoveAsync(DriverHarness h) => h.Driver.RemoveAsync("db1", None);

    private static bool Indexed(DriverHarness h) => h.Get<VolumeCatalog>().GetAsync("db1", None).Result is not null;

    private static bool IntentLeft(DriverHarness h) =>
        h.Ceph.Objects.TryGetValue(Removing.ToString(), out var omap) && !omap.IsEmpty;

    private static bool ImageThere(DriverHarness h) => h.Ceph.Images.Keys.Any(i => i.Name == "db1");

    private static async Task<List<string>> RemoveCallsAsync(RemoveAction action)
    {
        using var h = new DriverHarness(removeAction: action);
        await CreateAsync(h);
        h.Ceph.Calls.Clear();
        await RemoveAsync(h);
        return [.. h.Ceph.Calls];
    }

    private static async Task<DriverHarness> KilledInRemoveAsync(RemoveAction action, int call)
    {
        var h = new DriverHarness(removeAction: action);
        await CreateAsync(h);
        h.Ceph.KillBeforeCall(call);
        try
        {
            await RemoveAsync(h);
        }
        catch (ProcessKilledException)
        {
            // The daemon died here.
        }

        h.Ceph.Revive();
        await h.RestartAsync();
        return h;
    }

    [Theory]
    [MemberData(nameof(Actions))]
    public async Task Remove_TheIndexEntryGoesBeforeTheImage(string actionName)
    {
        var action = Enum.Parse<RemoveAction>(actionName);
        // Arrange
        using var h = new DriverHarness(removeAction: action);
        await CreateAsync(h);
        bool? indexedWhenTheImageWent = null;
        h.Ceph.FailOn = call =>
        {
            if (call is "RemoveImage" or "TrashImage")
            {
                indexedWhenTheImageWent = h.Ceph.Objects.TryGetValue(VolumeCatalog.IndexOf(h.Settings).ToString(), out var index) && index.ContainsKey("db1");
            }

            return null;
        };

        // Act
        await RemoveAsync(h);

        // Assert
        Assert.False(indexedWhenTheImageWent);
        Assert.False(ImageThere(h));
        Assert.False(Indexed(h));
        Assert.False(IntentLeft(h));
    }

    [Fact]
    public async Task Remove_KilledBeforeEachOfItsCephCalls_NextRemoveFinishesIt()
    {
        // (RemoveAction trash: Volumes/Trash/RemoveCrashTests.)
        var calls = await RemoveCallsAsync(RemoveAction.Delete);
        for (var i = 0; i < calls.Count; i++)
        {
            // Arrange
            using var h = await KilledInRemoveAsync(RemoveAction.Delete, i);

            // Act
            await RemoveAsync(h);

            // Assert
            var when = $"killed before call {i} ({calls[i]})";
            Assert.False(Indexed(h), when);
            Assert.False(ImageThere(h), when);
            Assert.False(IntentLeft(h), when);
        }
    }

    [Theory]
    [MemberData(nameof(Actions))]
    public async Task Remove_KilledBeforeEachOfItsCephCalls_CreateOfTheNameNeverAdoptsTheRemovedData(string actionName)
    {
        var action = Enum.Parse<RemoveAction>(actionName);
        var calls = await RemoveCallsAsync(action);
        for (var i = 0; i < calls.Count; i++)
        {
            // Arrange
            using var h = await KilledInRemoveAsync(action, i);
            var stillAVolume = Indexed(h);
            h.Ceph.Calls.Clear();

            // Act
            await CreateAsync(h);

            // Assert: either the Remove never took the volume out of the index (it is still the same volume), or
            // the Create made a new image: never the removed one under a new index entry.
            var when = $"killed before call {i} ({calls[i]})";
            Assert.True(stillAVolume || h.Ceph.Calls.Contains("CreateImage"), $"{when}: the removed volume's image was adopted");
            Assert.Single(h.Ceph.Images.Keys, k => k.Name == "db1");
            Assert.True(Indexed(h), when);
            Assert.False(IntentLeft(h) && !stillAVolume, $"{when}: removal intent left");
        }
    }

    [Fact]
    public async Task Remove_DeleteFailsAfterTheIndexEntryWent_NoMountFindsTheVolume_AndTheNextRemoveFinishes()
    {
        // Arrange: the delete times out (a slow cluster): librbd may have deleted part of the image.
        using var h = new DriverHarness(removeAction: RemoveAction.Delete);
        await CreateAsync(h);
        h.Ceph.FailOn = call => call == "RemoveImage" ? new CephException("rbd_remove", Errno.ETIMEDOUT) : null;
        await Assert.ThrowsAnyAsync<Exception>(() => RemoveAsync(h));
        h.Ceph.FailOn = _ => null;

        // Act
        var mount = await Assert.ThrowsAsync<VolumeException>(() => h.Driver.MountAsync("db1", new string('a', 64), None));
        await RemoveAsync(h);

        // Assert
        Assert.Equal(VolumeErrorKind.NotFound, mount.Kind);
        Assert.Empty(h.Host.Mounts);
        Assert.False(ImageThere(h));
        Assert.False(IntentLeft(h));
    }

    [Fact]
    public async Task Remove_RefusedByLibrbdBeforeItDeletesAnything_TheVolumeStaysAsItWas()
    {
        // Arrange: snapshots (ENOTEMPTY): librbd refuses before it touches any data.
        using var h = new DriverHarness(removeAction: RemoveAction.Delete);
        await CreateAsync(h);
        h.Ceph.FailOn = call => call == "RemoveImage" ? new CephException("rbd_remove", Errno.ENOTEMPTY) : null;

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => RemoveAsync(h));

        // Assert
        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("snapshots", e.Message, StringComparison.Ordinal);
        Assert.True(Indexed(h));
        Assert.True(ImageThere(h));
        Assert.False(IntentLeft(h));
    }

    [Fact]
    public async Task Create_AnotherHostsRemoveUnderWay_RefusedNamingThatHost_NothingTouched()
    {
        // Arrange: host-b took db1 out of the index a moment ago and is deleting its image.
        using var h = new DriverHarness(removeAction: RemoveAction.Delete);
        await CreateAsync(h);
        var record = (await h.Get<VolumeCatalog>().GetAsync("db1", None))!;
        await h.Ceph.SetOmapKeyAsync(Removing, "db1", new RemovalIntent(record.ToJson(), "host-b", DateTimeOffset.UtcNow).ToJson(), None);
        await h.Get<VolumeCatalog>().RemoveAsync("db1", None);

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => CreateAsync(h));

        // Assert
        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("being removed on host host-b", e.Message, StringComparison.Ordinal);
        Assert.True(ImageThere(h));
        Assert.True(IntentLeft(h));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"record":"{}","host":"host-a","since":"2026-01-01T00:00:00Z"}""")]
    public async Task Create_HostileRemovalIntent_DroppedAndNoImageTouched(string intent)
    {
        // Arrange: an image named db1 that is not a volume (no index entry), and an intent that names nothing valid.
        using var h = new DriverHarness(removeAction: RemoveAction.Delete);
        var theirs = new ImageRef("rbd", "", "db1");
        h.Ceph.Images[theirs] = new ImageInfo(theirs, 5 << 20, 1, new Dictionary<string, string> { ["theirs"] = "yes" });
        await h.Ceph.SetOmapKeyAsync(Removing, "db1", intent, None);

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => CreateAsync(h));

        // Assert: the intent is gone, their image is untouched and not adopted.
        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Equal("yes", Assert.Single(h.Ceph.Images).Value.Metadata["theirs"]);
        Assert.False(IntentLeft(h));
    }
}
