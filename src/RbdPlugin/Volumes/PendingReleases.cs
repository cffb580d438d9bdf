using System.Collections.Concurrent;

namespace RbdPlugin.Volumes;

/// <summary>
/// The real unmount/unmap after the last Unmount waits <c>UnmountGrace</c>: Docker mounts, unmounts and mounts again
/// within milliseconds when it copies image content into a new volume, and a Mount inside the grace period cancels
/// the release. One pending release per volume; the newest replaces an older one.
/// </summary>
internal sealed partial class PendingReleases(VolumeSettings settings, TimeProvider time, ILogger<PendingReleases> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _pending = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="release"/> after the grace period unless cancelled first. The token it gets is
    /// cancelled when a Mount took the volume back: check it under the volume's lock before releasing.</summary>
    public void Schedule(string name, Func<CancellationToken, Task> release)
    {
        var pending = new CancellationTokenSource();
        _pending.AddOrUpdate(name, pending, (_, old) =>
        {
            old.Cancel();
            return pending;
        });
        _ = RunAsync(name, pending, release);
    }

    /// <summary>Cancels the volume's pending release, if any (a Mount took it back, or it is released now anyway).</summary>
    public void Cancel(string name)
    {
        if (_pending.TryRemove(name, out var pending))
        {
            pending.Cancel();
        }
    }

    public void Dispose()
    {
        foreach (var pending in _pending.Values)
        {
            pending.Cancel();
        }
    }

    private async Task RunAsync(string name, CancellationTokenSource pending, Func<CancellationToken, Task> release)
    {
        try
        {
            await Task.Delay(settings.UnmountGrace, time, pending.Token);
            await release(pending.Token);
        }
        catch (OperationCanceledException)
        {
            // A Mount took it back, or the daemon is stopping: the journal keeps the entry for the next start.
        }
        catch (Exception e)
        {
            LogReleaseFailed(e, name);
        }
        finally
        {
            _pending.TryRemove(new KeyValuePair<string, CancellationTokenSource>(name, pending));
            pending.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not release volume {Volume}; it stays mounted and will be retried at the next Remove or start")]
    private partial void LogReleaseFailed(Exception e, string volume);
}
