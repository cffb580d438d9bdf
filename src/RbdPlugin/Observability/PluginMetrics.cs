using System.Reflection;
using Prometheus;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;

namespace RbdPlugin.Observability;

/// <summary>
/// The daemon's Prometheus metrics (names and meanings in docs/observability.md). They live in a registry of
/// their own, not prometheus-net's process-wide default one, so nothing runs in the background (no event-counter
/// listeners): counters move when things happen, and the gauges are read when /metrics is scraped.
/// </summary>
internal sealed partial class PluginMetrics : IRequestMetrics
{
    public const string OtherVerb = "other";

    // Docker's deadline is 60 s for most verbs; Get and Path answer in milliseconds, Mount in about a second.
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly TimeSpan DeviceListTimeout = TimeSpan.FromSeconds(5);

    private readonly HashSet<string> _verbs = Routes.All.Select(Routes.MethodName).ToHashSet(StringComparer.Ordinal);
    private readonly MountJournal _journal;
    private readonly MapperSet _mappers;
    private readonly LeaseRenewer _leases;
    private readonly CephProbe _ceph;
    private readonly ILogger<PluginMetrics> _logger;

    private readonly Histogram _duration;
    private readonly Counter _errors;
    private readonly Gauge _mounted;
    private readonly Gauge _mapped;
    private readonly Gauge _leasesHeld;
    private readonly Counter _leaseLosses;
    private readonly Counter _leaseTakeovers;
    private readonly Counter _leaseFences;
    private readonly Counter _reconciled;
    private readonly Gauge _cephUp;
    private readonly Counter _trashPurged;
    private readonly Gauge _trashLastPass;

    public PluginMetrics(MountJournal journal, MapperSet mappers, LeaseRenewer leases, LeaseEvents leaseEvents, TrashPurger purger, CephProbe ceph,
        TimeProvider time, ILogger<PluginMetrics> logger)
    {
        _journal = journal;
        _mappers = mappers;
        _leases = leases;
        _ceph = ceph;
        _logger = logger;

        Registry = Metrics.NewCustomRegistry();
        // Process metrics (process_resident_memory_bytes, process_cpu_seconds_total, ...) are read at scrape time.
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);

        _duration = factory.CreateHistogram("rbd_plugin_request_duration_seconds",
            "Time from a Docker request's arrival to its answer, by verb (VolumeDriver.Mount, ...; other = unknown endpoint)",
            new HistogramConfiguration { LabelNames = ["verb"], Buckets = LatencyBuckets });
        _errors = factory.CreateCounter("rbd_plugin_request_errors_total",
            "Docker requests answered with an Err, by verb and kind (a VolumeErrorKind, or BadRequest, Timeout, Cancelled, Internal, ...)",
            "verb", "kind");
        _mounted = factory.CreateGauge("rbd_plugin_volumes_mounted",
            "Volumes mounted on this host by this daemon (in its mount journal), including those waiting out UnmountGrace");
        _mapped = factory.CreateGauge("rbd_plugin_devices_mapped",
            "Block devices the active mapper has mapped (fuse: this daemon's; krbd, nbd: the whole host's), listed at scrape time");
        _leasesHeld = factory.CreateGauge("rbd_plugin_leases_held", "Volume leases this daemon holds and renews");
        _leaseLosses = factory.CreateCounter("rbd_plugin_lease_losses_total",
            "Leases this daemon lost while holding them (broken, taken over, or its client blocklisted)");
        _leaseTakeovers = factory.CreateCounter("rbd_plugin_lease_takeovers_total",
            "Leases taken over from another host whose lease had lapsed without a release");
        _leaseFences = factory.CreateCounter("rbd_plugin_lease_fences_total",
            "Ceph clients this daemon blocklisted (fenced) before taking a volume over");
        _reconciled = factory.CreateCounter("rbd_plugin_reconcile_volumes_total",
            "What the start-up reconciliation did, by outcome: kept, released, dropped, orphans (cleaned), lost (to another host)",
            "outcome");
        _cephUp = factory.CreateGauge("rbd_plugin_ceph_up", "1 when the Ceph cluster answered a probe at scrape time, else 0");
        _trashPurged = factory.CreateCounter("rbd_plugin_trash_purged_total", "Images purged from the trash after TrashExpiry");
        _trashLastPass = factory.CreateGauge("rbd_plugin_trash_purge_last_success_timestamp_seconds",
            "Unix time of the trash purger's last successful pass (it runs at start, then hourly)");
        factory.CreateGauge("rbd_plugin_build_info", "Always 1; the labels say which build runs", "version", "runtime")
            .WithLabels(Version, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription).Set(1);

        // Every series exists from the start, at 0: a rate() over a series that appears later misses its first step.
        foreach (var verb in _verbs)
        {
            _duration.WithLabels(verb);
        }

        foreach (var outcome in new[] { "kept", "released", "dropped", "orphans", "lost" })
        {
            _reconciled.WithLabels(outcome);
        }

        leaseEvents.Changed += OnLeaseEvent;
        purger.Purged += purged =>
        {
            _trashPurged.Inc(purged);
            _trashLastPass.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        };
        Registry.AddBeforeCollectCallback(RefreshAsync);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The informational version (version+commit when built from git).</summary>
    public static string Version { get; } =
        typeof(PluginMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public void Observe(string verb, TimeSpan elapsed, string? errorKind)
    {
        // A label per unknown path would let any client grow the registry without bound.
        var label = _verbs.Contains(verb) ? verb : OtherVerb;
        _duration.WithLabels(label).Observe(elapsed.TotalSeconds);
        if (errorKind is not null)
        {
            _errors.WithLabels(label, errorKind).Inc();
        }
    }

    public void RecordReconcile(ReconcileReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _reconciled.WithLabels("kept").Inc(report.Kept);
        _reconciled.WithLabels("released").Inc(report.Released);
        _reconciled.WithLabels("dropped").Inc(report.Dropped);
        _reconciled.WithLabels("orphans").Inc(report.OrphansCleaned);
        _reconciled.WithLabels("lost").Inc(report.Lost);
    }

    private void OnLeaseEvent(LeaseEvent change)
    {
        var counter = change switch
        {
            LeaseEvent.Fenced => _leaseFences,
            LeaseEvent.TookOver => _leaseTakeovers,
            _ => _leaseLosses,
        };
        counter.Inc();
    }

    private async Task RefreshAsync(CancellationToken ct)
    {
        _mounted.Set(_journal.All.Count);
        _leasesHeld.Set(_leases.Held.Count);
        var probe = _ceph.CheckAsync(ct);
        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bounded.CancelAfter(DeviceListTimeout);
            _mapped.Set((await _mappers.Active.ListMappedAsync(bounded.Token)).Count(d => d.DevicePath.Length > 0));
        }
        catch (Exception e) when (e is Node.HostCommandException or OperationCanceledException or IOException)
        {
            // The gauge keeps its last value; the scrape still answers.
            LogDeviceListFailed(e.Message);
        }

        _cephUp.Set(await probe is null ? 1 : 0);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Metrics: could not list the mapped devices ({Reason}); rbd_plugin_devices_mapped keeps its last value")]
    private partial void LogDeviceListFailed(string reason);
}
