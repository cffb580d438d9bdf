using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Purges the images this plugin moved to Ceph's trash once their expiry has passed (at start, then hourly). Only
/// entries recorded in our trash index are touched: other tools' trash is not ours to empty. The same pass sweeps
/// the staging images of Creates that a dead host never finished (<see cref="ImageStaging.SweepAbandonedAsync"/>).
/// </summary>
internal sealed partial class TrashPurger(VolumeTrash trash, ImageStaging staging, TimeProvider time, ILogger<TrashPurger> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Raised after each successful periodic pass with how many images it purged, for the metrics.</summary>
    public event Action<int>? Purged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var purged = await PurgeExpiredAsync(stoppingToken);
                Purged?.Invoke(purged);
                await staging.SweepAbandonedAsync(stoppingToken);
            }
            catch (Exception e) when (e is CephException or VolumeException)
            {
                LogPurgeFailed(e);
            }

            await Task.Delay(Interval, time, stoppingToken);
        }
    }

    /// <summary>One pass; returns how many images were purged.</summary>
    public async Task<int> PurgeExpiredAsync(CancellationToken ct)
    {
        var outcome = await trash.PurgeAsync(null, expiredOnly: true, ct);
        foreach (var record in outcome.Purged)
        {
            LogPurged(record.Name, record.Pool, record.TrashId);
        }

        foreach (var (record, error) in outcome.Failed)
        {
            LogNotPurged(record.Name, error);
        }

        return outcome.Purged.Count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged expired volume {Volume} from the trash of pool {Pool} (id {TrashId})")]
    private partial void LogPurged(string volume, string pool, string trashId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expired volume {Volume} stays in the trash: {Error}")]
    private partial void LogNotPurged(string volume, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trash purge failed; will retry in an hour")]
    private partial void LogPurgeFailed(Exception e);
}
