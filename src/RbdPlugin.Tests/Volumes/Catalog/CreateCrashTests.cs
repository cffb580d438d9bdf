using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Catalog;

/// <summary>
/// kill -9 of the daemon before each Ceph call a Create makes (invariant 3: a repeated request after a crash
/// converges): the next Create of the name must succeed and leave exactly one image, ours, and no debris. And
/// whatever the leftovers say, nothing that is not the plugin's own staging image is ever removed or adopted.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class CreateCrashTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Dictionary<string, string> Options = new() { ["size"] = "1G" };

    private static Task CreateAsync(DriverHarness h) => h.Driver.CreateAsync("db1", Options, None);

    private static async Task CloneAsync(DriverHarness h) =>
        await h.Driver.CreateAsync("c1", new Dictionary<string, string> { ["from-snapshot"] = "src@s1" }, None);

    private static async Task WithSourceSnapshotAsync(DriverHarness h)
    {
        await h.Driver.CreateAsync("src", Options, None);
        await h.Get<VolumeSnapshots>().CreateUnmountedAsync((await h.Get<VolumeCatalog>().GetAsync("src", None))!, "s1", None);
    }

    /// <summary>The Ceph calls <paramref name="act"/> makes when nothing goes wrong, in order.</summary>
    private static async Task<List<string>> CleanCallsAsync(Func<DriverHarness, Task> arrange, Func<DriverHarness, Task> act)
    {
        using var h = new DriverHarness();
        await arrange(h);
        h.Ceph.Calls.Clear();
        await act(h);
        return [.. h.Ceph.Calls];
    }

    /// <summary>Runs <paramref name="act"/> killed before its call number <paramref name="call"/>, then restarts the daemon.</summary>
    private static async Task KillAndRestartAsync(DriverHarness h, int call, Func<DriverHarness, Task> act)
    {
        h.Ceph.KillBeforeCall(call);
        try
        {
            await act(h);
        }
        catch (ProcessKilledException)
        {
            // The daemon died here.
        }

        h.Ceph.Revive();
        await h.RestartAsync();
    }

    private static void AssertConverged(DriverHarness h, string name, IEnumerable<string> otherImages, string when)
    {
        Assert.True(h.Ceph.Images.Keys.Select(i => i.Name).Order(StringComparer.Ordinal)
                .SequenceEqual(otherImages.Append(name).Order(StringComparer.Ordinal), StringComparer.Ordinal),
            $"{when}: images {string.Join(", ", h.Ceph.Images.Keys.Select(i => i.Name))}");
        var image = h.Ceph.Images.Single(i => i.Key.Name == name).Value;
        Assert.True(image.Metadata.TryGetValue(VolumeRecord.MetadataKey, out var json) && VolumeRecord.FromJson(json)!.Name == name, $"{when}: no record on {name}");
        Assert.True(h.Get<VolumeCatalog>().GetAsync(name, None).Result is not null, $"{when}: {name} is not in the index");
        Assert.True(h.Ceph.Objects.Where(o => o.Key.EndsWith("/" + ImageStaging.IndexObject, StringComparison.Ordinal)).All(o => o.Value.IsEmpty),
            $"{when}: staging intents left");
    }

    [Fact]
    public async Task Create_KilledBeforeEachOfItsCephCalls_NextCreateConverges()
    {
        // Arrange
        var calls = await CleanCallsAsync(_ => Task.CompletedTask, CreateAsync);
        Assert.Contains("CreateImage:metadata", calls);

        for (var i = 0; i < calls.Count; i++)
        {
            using var h = new DriverHarness();
            await KillAndRestartAsync(h, i, CreateAsync);

            // Act
            await CreateAsync(h);

            // Assert
            AssertConverged(h, "db1", [], $"killed before call {i} ({calls[i]})");
        }
    }

    [Fact]
    public async Task Create_KilledBetweenTheImageAndItsMetadata_NextCreateSucceeds()
    {
        // Arrange: the window the issue names: rbd_create4 done, the creation record not yet written.
        var calls = await CleanCallsAsync(_ => Task.CompletedTask, CreateAsync);
        using var h = new DriverHarness();
        await KillAndRestartAsync(h, calls.IndexOf("CreateImage:metadata"), CreateAsync);

        // Act
        await CreateAsync(h);

        // Assert
        AssertConverged(h, "db1", [], "killed before the metadata write");
    }

    [Fact]
    public async Task Clone_KilledBeforeEachOfItsCephCalls_NextCloneConverges()
    {
        // Arrange
        var calls = await CleanCallsAsync(WithSourceSnapshotAsync, CloneAsync);

        for (var i = 0; i < calls.Count; i++)
        {
            using var h = new DriverHarness();
            await WithSourceSnapshotAsync(h);
            await KillAndRestartAsync(h, i, CloneAsync);

            // Act
            await CloneAsync(h);

            // Assert
            AssertConverged(h, "c1", ["src"], $"killed before call {i} ({calls[i]})");
            Assert.Contains(h.Ceph.Clones, c => c.Name == "c1");
        }
    }

    [Fact]
    public async Task Create_ForeignImageWithTheName_RefusedAndUntouched_EvenWithAnIntentOfOursForTheName()
    {
        // Arrange: an earlier Create of ours died early, and meanwhile someone made their own image of that name.
        var calls = await CleanCallsAsync(_ => Task.CompletedTask, CreateAsync);
        using var h = new DriverHarness();
        await KillAndRestartAsync(h, calls.IndexOf("CreateImage"), CreateAsync);
        var foreign = new ImageRef("rbd", "", "db1");
        h.Ceph.Images[foreign] = new ImageInfo(foreign, 5 << 20, 1, new Dictionary<string, string> { ["theirs"] = "yes" });

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => CreateAsync(h));

        // Assert
        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("not created by rbd-plugin", e.Message, StringComparison.Ordinal);
        Assert.Equal("yes", Assert.Single(h.Ceph.Images).Value.Metadata["theirs"]);
    }

    [Fact]
    public async Task Create_IntentNamingAnImageThatIsNotAStagingImage_ThatImageUntouched()
    {
        // Arrange: the intents live in a RADOS object any host's key can write (invariant 9).
        using var h = new DriverHarness();
        var victim = new ImageRef("rbd", "", "precious");
        h.Ceph.Images[victim] = new ImageInfo(victim, 1 << 30, 61, new Dictionary<string, string>());
        var intent = new StagingIntent("db1", "rbd", "", "precious", "host-a", h.Time.GetUtcNow() - TimeSpan.FromDays(1));
        await h.Ceph.SetOmapKeyAsync(new RadosObject("rbd", "", ImageStaging.IndexObject), "db1/0123456789ab", intent.ToJson(), None);

        // Act
        await CreateAsync(h);

        // Assert
        Assert.True(h.Ceph.Images.ContainsKey(victim));
        AssertConverged(h, "db1", ["precious"], "after a hostile intent");
    }

    [Theory]
    [InlineData("host-b", 1, true)]   // another host may be creating it right now: left alone
    [InlineData("host-b", 11, false)] // abandoned long ago: cleared
    [InlineData("host-a", 0, false)]  // ours: this daemon holds the volume's lock, so it is no Create in flight
    public async Task Create_LeftoverStagingImageOfAnEarlierCreate_ClearedUnlessAnotherHostMayStillBeMakingIt(string host, int minutesAgo, bool kept)
    {
        // Arrange
        using var h = new DriverHarness();
        var staging = new ImageRef("rbd", "", ImageStaging.StagingName("db1", "0123456789ab"));
        h.Ceph.Images[staging] = new ImageInfo(staging, 1 << 30, 61, new Dictionary<string, string>());
        var intent = new StagingIntent("db1", "rbd", "", staging.Name, host, h.Time.GetUtcNow() - TimeSpan.FromMinutes(minutesAgo));
        await h.Ceph.SetOmapKeyAsync(new RadosObject("rbd", "", ImageStaging.IndexObject), "db1/0123456789ab", intent.ToJson(), None);

        // Act
        await CreateAsync(h);

        // Assert
        Assert.Equal(kept, h.Ceph.Images.ContainsKey(staging));
        Assert.NotNull(await h.Get<VolumeCatalog>().GetAsync("db1", None));
    }

    [Fact]
    public async Task Create_LeftoverStagingImageStillOpen_CreateGoesOnAndTheIntentStaysForALaterPass()
    {
        // Arrange
        using var h = new DriverHarness();
        var staging = new ImageRef("rbd", "", ImageStaging.StagingName("db1", "0123456789ab"));
        h.Ceph.Images[staging] = new ImageInfo(staging, 1 << 30, 61, new Dictionary<string, string>());
        var intent = new StagingIntent("db1", "rbd", "", staging.Name, "host-a", h.Time.GetUtcNow());
        var index = new RadosObject("rbd", "", ImageStaging.IndexObject);
        await h.Ceph.SetOmapKeyAsync(index, "db1/0123456789ab", intent.ToJson(), None);
        h.Ceph.FailOn = call => call == "RemoveImage" ? new CephException("rbd_remove", Errno.EBUSY) : null;

        // Act
        await CreateAsync(h);

        // Assert
        Assert.NotNull(await h.Get<VolumeCatalog>().GetAsync("db1", None));
        Assert.True(h.Ceph.Images.ContainsKey(staging));
        Assert.Equal(["db1/0123456789ab"], (await h.Ceph.ReadOmapAsync(index, None)).Keys);
    }

    [Fact]
    public async Task SweepAbandoned_StagingLeftByAHostThatNeverCameBack_ClearedByTheHourlyPass()
    {
        // Arrange
        using var h = new DriverHarness();
        var staging = new ImageRef("rbd", "", ImageStaging.StagingName("db9", "0123456789ab"));
        h.Ceph.Images[staging] = new ImageInfo(staging, 1 << 30, 61, new Dictionary<string, string>());
        var intent = new StagingIntent("db9", "rbd", "", staging.Name, "host-gone", h.Time.GetUtcNow());
        await h.Ceph.SetOmapKeyAsync(new RadosObject("rbd", "", ImageStaging.IndexObject), "db9/0123456789ab", intent.ToJson(), None);

        // Act
        var young = await h.Get<ImageStaging>().SweepAbandonedAsync(None);
        h.Time.Advance(ImageStaging.AbandonedAfter + TimeSpan.FromSeconds(1));
        var old = await h.Get<ImageStaging>().SweepAbandonedAsync(None);

        // Assert
        Assert.Equal((0, 1), (young, old));
        Assert.Empty(h.Ceph.Images);
    }
}
