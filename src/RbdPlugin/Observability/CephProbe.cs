using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Observability;

/// <summary>
/// Is the cluster reachable right now, for /readyz and the ceph_up gauge: one omap read of the volume index
/// (a round trip to the OSD that serves it, on the daemon's own connection; a missing key or object is an answer
/// too). One probe at a time, its answer reused for a second, and nobody waits more than <see cref="Timeout"/>:
/// a hung cluster must not pile up blocked native calls, one per scrape.
/// </summary>
internal sealed class CephProbe(IRadosOmap omap, VolumeSettings settings, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>Read, never written; no volume name starts with a dot, so it never fetches a record.</summary>
    public const string ProbeKey = ".probe";

    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private Task<string?>? _current;
    private DateTimeOffset _startedAt;

    /// <summary>Null when the cluster answered, else why it is not reachable.</summary>
    public async Task<string?> CheckAsync(CancellationToken ct)
    {
        Task<string?> probe;
        lock (_gate)
        {
            if (_current is null || (_current.IsCompleted && time.GetUtcNow() - _startedAt > Fresh))
            {
                _startedAt = time.GetUtcNow();
                // Off this thread even if the call blocks before its first await.
                _current = Task.Run(ProbeAsync, CancellationToken.None);
            }

            probe = _current;
        }

        try
        {
            return await probe.WaitAsync(Timeout, time, ct);
        }
        catch (TimeoutException)
        {
            return $"the Ceph cluster did not answer within {Timeout.TotalSeconds:0}s (omap read of {VolumeCatalog.IndexObject} in pool {settings.Pool})";
        }
    }

    private async Task<string?> ProbeAsync()
    {
        try
        {
            // Not cancelled by any one caller: the next ones share it.
            await omap.ReadOmapKeyAsync(VolumeCatalog.IndexOf(settings), ProbeKey, CancellationToken.None);
            return null;
        }
        catch (Exception e) when (e is CephException or ObjectDisposedException)
        {
            return $"the Ceph cluster is not reachable: {e.Message}";
        }
    }
}
