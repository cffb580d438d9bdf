using System.Diagnostics;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

public sealed class CephImagesWatcherTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ListWatchers_NobodyHasItOpen_IsEmptyAndDoesNotCountOurselves()
    {
        var image = await CreateImageAsync();

        Assert.Empty(await Cluster.Images.ListWatchersAsync(image, None));
    }

    [Fact]
    public async Task ListWatchers_Missing_IsEmpty()
    {
        Assert.Empty(await Cluster.Images.ListWatchersAsync(DevCluster.NewImage(), None));
    }

    [Fact]
    public async Task ListWatchers_RbdWatchRunning_ReportsTheWatcherRbdStatusReports()
    {
        // Arrange: `rbd watch` holds a watch on the header until it reads a line on stdin.
        var image = await CreateImageAsync();
        using var watch = CephCli.StartLongRunning("rbd", "watch", image.ToString());
        try
        {
            // Act
            var watchers = await WaitForAsync(() => Cluster.Images.ListWatchersAsync(image, None), w => w.Count == 1);

            // Assert
            var status = (await CephCli.RunAsync("rbd", "status", "--format", "json", image.ToString())).EnsureSuccess("rbd status").Json;
            var cliWatcher = status.GetProperty("watchers").EnumerateArray().Single();
            Assert.Equal(cliWatcher.GetProperty("address").GetString(), watchers[0].Address);
            Assert.Equal(cliWatcher.GetProperty("client").GetUInt64(), watchers[0].Id);

            // A watched image is in use: rbd_remove refuses it.
            var error = await Assert.ThrowsAsync<CephException>(() => Cluster.Images.RemoveImageAsync(image, None));
            Assert.Equal(Errno.EBUSY, error.Errno);
        }
        finally
        {
            await StopAsync(watch);
        }

        // The watch went away with the process.
        await WaitForAsync(() => Cluster.Images.ListWatchersAsync(image, None), w => w.Count == 0);
    }

    [Fact]
    public async Task ListWatchers_FromASecondConnection_SeesTheSameWatchersAndNeitherCountsItself()
    {
        // A second librados client, as another host's plugin would have.
        var image = await CreateImageAsync();
        await using var other = await DevCluster.ConnectAsync();
        using var process = CephCli.StartLongRunning("rbd", "watch", image.ToString());
        try
        {
            var watchers = await WaitForAsync(() => other.Images.ListWatchersAsync(image, None), w => w.Count == 1);

            Assert.NotEqual(other.InstanceAddress, watchers[0].Address);
            Assert.NotEqual(other.InstanceId, watchers[0].Id);
            Assert.Equal(watchers, await Cluster.Images.ListWatchersAsync(image, None));
        }
        finally
        {
            await StopAsync(process);
        }
    }

    [Fact]
    public async Task TrashImage_Watched_MovesItAnyway_SoCallersMustCheckWatchersFirst()
    {
        // Unlike rbd_remove (EBUSY), librbd's trash move does not look at watchers: the in-use check is the caller's.
        var image = await CreateImageAsync();
        using var watch = CephCli.StartLongRunning("rbd", "watch", image.ToString());
        try
        {
            await WaitForAsync(() => Cluster.Images.ListWatchersAsync(image, None), w => w.Count == 1);

            var id = await Cluster.Trash.TrashImageAsync(image, TimeSpan.Zero, None);

            Assert.NotNull(id);
            TrackTrash(image.Pool, id);
            Assert.Contains(await Cluster.Trash.ListTrashAsync(image.Pool, "", None), e => e.Id == id);
        }
        finally
        {
            await StopAsync(watch);
        }
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            await process.StandardInput.WriteLineAsync();
            await process.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                Assert.True(done(value), $"condition not reached in time, last value: {value}");
                return value;
            }

            await Task.Delay(200);
        }
    }
}
