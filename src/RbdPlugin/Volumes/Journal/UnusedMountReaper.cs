using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// Makes the journal converge when Docker loses Unmounts. dockerd 20.10 restarting after a crash (no live-restore)
/// kills the containers it finds still running and never tells the plugin; `docker rm` later does not either, and
/// a container with a restart policy mounts again under the same ID. Such a volume would stay mounted and leased
/// here forever, and no other host could mount it. So: a journaled volume whose device no container has mounted
/// (no mount of it in any mount namespace other than ours at our own mountpoint) for <c>UnusedMountTimeout</c> is
/// released as if Docker had sent the Unmount. A container's bind mount exists from its start to its end, so a
/// running container is never robbed; the timeout covers the moment between Docker's Mount and its bind mount, and
/// Docker's own copy of image content into a fresh volume (which uses the mountpoint without a bind mount).
/// </summary>
internal sealed partial class UnusedMountReaper(
    MountJournal journal,
    VolumeReleaser releaser,
    IMountNamespaces namespaces,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<UnusedMountReaper> logger) : BackgroundService
{
    /// <summary>When each volume was first seen unused, and the journal entry seen then (a Mount or Unmount replaces it).</summary>
    private readonly Dictionary<string, (JournalEntry Entry, DateTimeOffset Since)> _unused = new(StringComparer.Ordinal);

    /// <summary>How often to look: a third of the timeout, between 500 ms and 30 s.</summary>
    public TimeSpan Interval => TimeSpan.FromTicks(Math.Clamp(settings.UnusedMountTimeout.Ticks / 3,
        TimeSpan.FromMilliseconds(500).Ticks, TimeSpan.FromSeconds(30).Ticks));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.UnusedMountTimeout <= TimeSpan.Zero)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(Interval, time, stoppingToken);
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckFailed(e);
            }
        }
    }

    /// <summary>One look; returns the volumes it released. Not reentrant: the background loop is its one caller.</summary>
    public async Task<IReadOnlyList<string>> CheckAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var entries = journal.All;
        var released = new List<string>();
        foreach (var name in _unused.Keys.Except(entries.Select(e => e.Name)).ToList())
        {
            _unused.Remove(name);
        }

        if (entries.Count == 0)
        {
            return released; // nothing mounted here: no need to read every process's mount table
        }

        var mounts = namespaces.ReadAll();

        foreach (var entry in entries)
        {
            if (mounts.Any(m => m.Source == entry.FsDevice && m.MountPoint != entry.Mountpoint))
            {
                _unused.Remove(entry.Name); // a container (or docker cp) has it
                continue;
            }

            if (!_unused.TryGetValue(entry.Name, out var seen) || !ReferenceEquals(seen.Entry, entry))
            {
                _unused[entry.Name] = (entry, now);
                continue;
            }

            if (now - seen.Since < settings.UnusedMountTimeout)
            {
                continue;
            }

            _unused.Remove(entry.Name);
            try
            {
                if (await releaser.ReleaseUnusedAsync(entry, now - seen.Since, ct))
                {
                    released.Add(entry.Name);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReleaseFailed(e, entry.Name); // tried again once it has been unused for the timeout again
            }
        }

        return released;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for volumes no container uses failed; trying again later")]
    private partial void LogCheckFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not release unused volume {Volume}; trying again later")]
    private partial void LogReleaseFailed(Exception e, string volume);
}
