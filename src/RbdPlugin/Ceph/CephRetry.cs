using System.Diagnostics;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace RbdPlugin.Ceph;

/// <summary>
/// Runs a blocking native call off the request thread, retrying what <see cref="CephException.IsTransient"/> calls
/// transient with exponential backoff and jitter. The whole thing, retries included, is bounded by the operation
/// timeout: no new attempt starts after it, and the attempt in flight is bounded by librados's own op timeouts.
/// Running out of time surfaces as <see cref="CephException"/> ETIMEDOUT, like a timed-out native call.
/// </summary>
internal sealed partial class CephRetry
{
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;

    public CephRetry(TimeSpan operationTimeout, ILogger logger, TimeSpan? firstDelay = null)
    {
        _logger = logger;
        _pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(operationTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<CephException>(e => e.IsTransient),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = firstDelay ?? TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(5),
                // The timeout is the real bound; this only caps a pathological flood of instant failures.
                MaxRetryAttempts = 50,
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is CephException e)
                    {
                        LogRetry(logger, e.Operation, e.Errno, args.AttemptNumber + 1, args.RetryDelay);
                    }

                    return default;
                },
            })
            .Build();
    }

    /// <summary>Runs <paramref name="blockingCall"/> on the thread pool under the retry policy.</summary>
    /// <param name="operation">Names the operation in the ETIMEDOUT error, e.g. "rbd_create4 rbd/db1".</param>
    /// <param name="blockingCall">One or a few native calls; throws <see cref="CephException"/> on a negative errno.</param>
    /// <param name="ct">Stops retries and any attempt not yet started; an attempt already running finishes.</param>
    public async Task<T> ExecuteAsync<T>(string operation, Func<T> blockingCall, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Task.Run honours the token only before the call starts: a native call cannot be abandoned halfway
            // without leaving the caller unsure whether it happened.
            var result = await _pipeline.ExecuteAsync(
                static (call, token) => new ValueTask<T>(Task.Run(call, token)), blockingCall, ct);
            LogDone(_logger, operation, "ok", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (TimeoutRejectedException ex)
        {
            LogDone(_logger, operation, "timed out", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw new CephException(operation, Errno.ETIMEDOUT, ex);
        }
        catch (CephException e)
        {
            LogDone(_logger, operation, $"errno {e.Errno}", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    // One line per Ceph operation (debug): with the request id of the scope it runs in, it shows which Docker
    // request made which round trips to the cluster and how long each took.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Ceph {Operation}: {Outcome} after {ElapsedMs:0.#} ms")]
    private static partial void LogDone(ILogger logger, string operation, string outcome, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Operation} failed with errno {Errno}, retry {Attempt} in {Delay}")]
    private static partial void LogRetry(ILogger logger, string operation, int errno, int attempt, TimeSpan delay);
}
