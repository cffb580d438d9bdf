using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Ceph;

[Trait("Tier", "Fast")]
public sealed class CephRetryTests
{
    private static CephRetry Retry(TimeSpan timeout) => new(timeout, NullLogger.Instance, firstDelay: TimeSpan.FromMilliseconds(5));

    [Fact]
    public async Task Execute_TransientFailuresThenSuccess_ReturnsTheResult()
    {
        var calls = 0;

        var result = await Retry(TimeSpan.FromSeconds(5)).ExecuteAsync("op", () =>
            ++calls < 3 ? throw new CephException("op", Errno.ETIMEDOUT) : 42, CancellationToken.None);

        Assert.Equal(42, result);
        Assert.Equal(3, calls);
    }

    [Theory]
    [InlineData(Errno.ENOENT)]
    [InlineData(Errno.EEXIST)]
    [InlineData(Errno.EPERM)]
    [InlineData(Errno.EBUSY)]
    [InlineData(Errno.EBLOCKLISTED)]
    public async Task Execute_PermanentFailure_ThrowsAtOnceWithoutRetrying(int errno)
    {
        var calls = 0;

        var error = await Assert.ThrowsAsync<CephException>(() => Retry(TimeSpan.FromSeconds(5)).ExecuteAsync<int>("op", () =>
        {
            calls++;
            throw new CephException("op", errno);
        }, CancellationToken.None));

        Assert.Equal(errno, error.Errno);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Execute_TransientForever_GivesUpWithEtimedoutWithinTheTimeout()
    {
        var stopwatch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<CephException>(() => Retry(TimeSpan.FromMilliseconds(500)).ExecuteAsync<int>(
            "rbd_create4 rbd/x", () => throw new CephException("rbd_create4 rbd/x", Errno.EAGAIN), CancellationToken.None));

        Assert.Equal(Errno.ETIMEDOUT, error.Errno);
        Assert.Equal("rbd_create4 rbd/x", error.Operation);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Execute_CancelledBeforeStart_NeverRunsTheCall()
    {
        var calls = 0;
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Retry(TimeSpan.FromSeconds(5)).ExecuteAsync("op", () => ++calls, cts.Token));

        Assert.Equal(0, calls);
    }
}
