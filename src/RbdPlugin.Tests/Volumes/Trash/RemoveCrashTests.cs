using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Trash;

/// <summary>
/// kill -9 of the daemon before each Ceph call a Remove (RemoveAction trash) makes: the next Remove must converge to
/// "gone from Docker, in Ceph's trash, known to our trash index": listed by `trash ls`, purged after its expiry.
/// An image in Ceph's trash that our index does not know would never be listed or purged.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class RemoveCrashTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<List<string>> CleanRemoveCallsAsync()
    {
        using var h = new DriverHarness();
        await h.Driver.CreateAsync("db1", null, None);
        h.Ceph.Calls.Clear();
        await h.Driver.RemoveAsync("db1", None);
        return [.. h.Ceph.Calls];
    }

    private static async Task KilledRemoveAsync(DriverHarness h, int call)
    {
        await h.Driver.CreateAsync("db1", null, None);
        h.Ceph.KillBeforeCall(call);
        try
        {
            await h.Driver.RemoveAsync("db1", None);
        }
        catch (ProcessKilledException)
        {
            // The daemon died here.
        }

        h.Ceph.Revive();
        h.Time.Advance(h.Settings.LeaseDuration + TimeSpan.FromSeconds(1)); // the dead daemon's lease ran out
        await h.RestartAsync();
    }

    private static async Task AssertInOurTrashThenPurgedAsync(DriverHarness h, string when)
    {
        Assert.True(await h.Driver.GetAsync("db1", None) is null, $"{when}: db1 still a volume");
        var entry = Assert.Single(h.Ceph.Trash.Values);
        var listed = await h.Get<VolumeTrash>().ListAsync(None);
        Assert.True(listed.Count == 1 && listed[0].Name == "db1" && listed[0].ImageId == entry.Id, $"{when}: trash ls shows {listed.Count} entries");
        h.Time.Advance(h.Settings.TrashExpiry + TimeSpan.FromMinutes(1));
        Assert.Equal(1, await h.Get<TrashPurger>().PurgeExpiredAsync(None));
        Assert.Empty(h.Ceph.Trash);
        Assert.Empty(await h.Get<TrashIndex>().ReadAllAsync(None));
    }

    [Fact]
    public async Task Remove_KilledBeforeEachOfItsCephCalls_NextRemoveLeavesItInOurTrashAndThePurgeDeletesIt()
    {
        // Arrange
        var calls = await CleanRemoveCallsAsync();
        Assert.Contains("TrashImage", calls);

        for (var i = 0; i < calls.Count; i++)
        {
            using var h = new DriverHarness();
            await KilledRemoveAsync(h, i);

            // Act
            await h.Driver.RemoveAsync("db1", None);

            // Assert
            await AssertInOurTrashThenPurgedAsync(h, $"killed before call {i} ({calls[i]})");
        }
    }

    [Fact]
    public async Task Remove_KilledBetweenTheTrashMoveAndTheTrashRecord_NextRemoveConverges()
    {
        // Arrange: the window the issue names; before, the record was written after the move.
        var calls = await CleanRemoveCallsAsync();
        using var h = new DriverHarness();
        await KilledRemoveAsync(h, calls.IndexOf("TrashImage") + 1);

        // Act
        await h.Driver.RemoveAsync("db1", None);

        // Assert
        await AssertInOurTrashThenPurgedAsync(h, "killed right after the trash move");
    }

    [Fact]
    public async Task Purge_RecordOfAnImageNotMovedYet_KeptAndNotCountedAndTheImageUntouched()
    {
        // Arrange: killed between the record and the move: the volume is still a volume, its record waits.
        var calls = await CleanRemoveCallsAsync();
        using var h = new DriverHarness();
        await KilledRemoveAsync(h, calls.IndexOf("TrashImage"));
        Assert.Single(await h.Get<TrashIndex>().ReadAllAsync(None));
        h.Time.Advance(h.Settings.TrashExpiry + TimeSpan.FromMinutes(1));

        // Act
        var purged = await h.Get<TrashPurger>().PurgeExpiredAsync(None);

        // Assert
        Assert.Equal(0, purged);
        Assert.NotNull(await h.Driver.GetAsync("db1", None));
        Assert.Single(await h.Get<TrashIndex>().ReadAllAsync(None));
        Assert.Empty(await h.Get<VolumeTrash>().ListAsync(None));
    }

    [Fact]
    public async Task Purge_RecordWhoseImageIsGoneEverywhere_Dropped()
    {
        // Arrange: purged by another tool.
        using var h = new DriverHarness();
        await h.Driver.CreateAsync("db1", null, None);
        await h.Driver.RemoveAsync("db1", None);
        h.Ceph.Trash.Clear();

        // Act
        var outcome = await h.Get<VolumeTrash>().PurgeAsync(null, expiredOnly: false, None);

        // Assert
        Assert.Empty(outcome.Purged);
        Assert.Empty(await h.Get<TrashIndex>().ReadAllAsync(None));
    }
}
