using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RbdPlugin.Ceph;
using RbdPlugin.Hosting;
using RbdPlugin.Observability;
using RbdPlugin.Protocol;
using RbdPlugin.Tests.Infrastructure;
using RbdPlugin.Tests.Protocol;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Observability;

/// <summary>
/// /readyz and /metrics on a real Kestrel (Docker's socket and the admin socket, as the daemon wires them) over a
/// fake cluster that can fail or hang on demand, which the dev cluster cannot be made to do.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ObservabilityServerTests : IAsyncLifetime
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly DriverHarness _h = new();
    private WebApplication _app = null!;
    private HttpClient _admin = null!;
    private PluginClient _plugin = null!;

    private string PluginSocket => Path.Combine(_h.Root, "plugin.sock");

    public async Task InitializeAsync()
    {
        var adminSocket = Path.Combine(_h.Root, "admin.sock");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UsePluginListeners(new PluginOptions { Socket = PluginSocket }, adminSocket);
        _h.AddTo(builder.Services);
        builder.Services.AddObservability();
        _app = builder.Build();
        _h.Use(_app.Services);
        _app.UseListenerScopes();
        _app.MapAdmin();
        _app.MapObservability();
        _app.MapVolumePlugin();
        await _app.StartAsync();
        _admin = PluginServer.UnixClient(adminSocket);
        _plugin = new PluginClient(PluginSocket);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        _plugin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _h.Dispose();
    }

    [Fact]
    public async Task Readyz_BeforeTheStartupReconcile_503SayingSo_ThenReady()
    {
        var (status, body) = await ReadyzAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(body.GetProperty("reconciled").GetBoolean());
        Assert.True(body.GetProperty("cephReachable").GetBoolean());
        Assert.Contains("reconciliation", Assert.Single(body.GetProperty("notReady").EnumerateArray()).GetString(), StringComparison.Ordinal);

        _app.Services.ReportReconciled(new ReconcileReport(1, 2, 3, 4, [], 5));

        (status, body) = await ReadyzAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Empty(body.GetProperty("notReady").EnumerateArray());
        var samples = await ScrapeAsync();
        Assert.Equal([1, 2, 3, 4, 5], new[] { "kept", "released", "dropped", "orphans", "lost" }
            .Select(o => samples.Value("rbd_plugin_reconcile_volumes_total", $"outcome={o}")));
    }

    [Fact]
    public async Task Readyz_CephRefuses_503NamingTheCluster_AndCephUpIs0()
    {
        _app.Services.ReportReconciled(new ReconcileReport(0, 0, 0, 0, []));
        _h.Ceph.FailOn = call => call == "ReadOmapKey" ? new CephException("rados_read_op_operate", Errno.ESHUTDOWN) : null;

        var (status, body) = await ReadyzAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not ready", body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("cephReachable").GetBoolean());
        Assert.StartsWith("the Ceph cluster is not reachable", Assert.Single(body.GetProperty("notReady").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await ScrapeAsync()).Value("rbd_plugin_ceph_up"));
    }

    [Fact]
    public async Task Readyz_CephHangs_503OnceTheProbeTimesOut()
    {
        _app.Services.ReportReconciled(new ReconcileReport(0, 0, 0, 0, []));
        using var hang = new ManualResetEventSlim();
        _h.Ceph.FailOn = call =>
        {
            if (call == "ReadOmapKey")
            {
                hang.Wait(TimeSpan.FromSeconds(60));
            }

            return null;
        };

        try
        {
            var request = ReadyzAsync();
            for (var i = 0; i < 500 && !request.IsCompleted; i++)
            {
                _h.Time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(20);
            }

            var (status, body) = await request;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains($"did not answer within {CephProbe.Timeout.TotalSeconds:0}s", body.GetProperty("notReady")[0].GetString(), StringComparison.Ordinal);
        }
        finally
        {
            hang.Set();
        }
    }

    [Fact]
    public async Task Metrics_VerbsFailuresAndATakeoverWithFencing_CountedAsPrometheusReadsThem()
    {
        // Arrange: host-b held db1 and died (its lease lapsed without a release)
        await _h.Driver.CreateAsync("db1", null, CancellationToken.None);
        var hostB = new Locker("client.777", "host-b/feedfacecafe", "127.0.0.1:0/777");
        _h.Ceph.HoldLock("rbd", "", LeaseObjects.ObjectNameOf("db1"), LeaseObjects.LockName, hostB, TimeSpan.FromSeconds(30));
        var record = new LeaseRecord("host-b", hostB.Cookie, hostB.Address, _h.Time.GetUtcNow());
        await _h.Ceph.SetOmapKeyAsync(new RadosObject("rbd", "", LeaseObjects.ObjectNameOf("db1")), LeaseObjects.OwnerKey, record.ToJson(), CancellationToken.None);
        _h.Time.Advance(TimeSpan.FromSeconds(31));

        // Act: through Docker's socket, a Mount that takes over, a Mount without an ID, an unknown endpoint
        await _plugin.MountAsync("db1", IdA);
        var (badStatus, _) = await _plugin.PostAsync("/VolumeDriver.Mount", """{"Name":"db1"}""");
        var (unknownStatus, _) = await _plugin.PostAsync("/VolumeDriver.Frobnicate", "{}");
        var samples = await ScrapeAsync();

        // Assert
        Assert.Equal(400, badStatus);
        Assert.Equal(404, unknownStatus);
        Assert.Equal(2, samples.Value("rbd_plugin_request_duration_seconds_count", "verb=VolumeDriver.Mount"));
        Assert.Equal(1, samples.Value("rbd_plugin_request_errors_total", "verb=VolumeDriver.Mount", "kind=BadRequest"));
        Assert.Equal(1, samples.Value("rbd_plugin_request_duration_seconds_count", $"verb={PluginMetrics.OtherVerb}"));
        Assert.Equal(1, samples.Value("rbd_plugin_request_errors_total", $"verb={PluginMetrics.OtherVerb}", "kind=UnknownEndpoint"));
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.Contains("Frobnicate", StringComparison.Ordinal)));
        Assert.Equal(1, samples.Value("rbd_plugin_lease_fences_total"));
        Assert.Equal(1, samples.Value("rbd_plugin_lease_takeovers_total"));
        Assert.Equal(0, samples.Value("rbd_plugin_lease_losses_total"));
        Assert.Equal(1, samples.Value("rbd_plugin_leases_held"));
        Assert.Equal(1, samples.Value("rbd_plugin_volumes_mounted"));
        Assert.Equal(1, samples.Value("rbd_plugin_devices_mapped"));
        Assert.Equal("counter", samples.First(s => s.Name == "rbd_plugin_lease_fences_total").Type);
        Assert.Equal("gauge", samples.First(s => s.Name == "rbd_plugin_volumes_mounted").Type);
    }

    [Fact]
    public async Task Metrics_LeaseLostWhileMounted_CountedAndTheGaugesDrop()
    {
        // Arrange: mounted here, then host-b breaks our lock and takes it (a forced takeover)
        await _h.Driver.CreateAsync("db1", null, CancellationToken.None);
        await _plugin.MountAsync("db1", IdA);
        Assert.Equal(1, (await ScrapeAsync()).Value("rbd_plugin_leases_held"));
        _h.Ceph.HoldLock("rbd", "", LeaseObjects.ObjectNameOf("db1"), LeaseObjects.LockName, new Locker("client.777", "host-b/feedfacecafe", "127.0.0.1:0/777"), TimeSpan.FromSeconds(30));

        // Act: the next renewal finds it gone
        _h.Time.Advance(_h.Settings.LeaseDuration / 3);
        for (var i = 0; i < 500 && _h.Journal.Get("db1") is not null; i++)
        {
            await Task.Delay(10);
        }

        // Assert
        var samples = await ScrapeAsync();
        Assert.Equal(1, samples.Value("rbd_plugin_lease_losses_total"));
        Assert.Equal(0, samples.Value("rbd_plugin_leases_held"));
        Assert.Equal(0, samples.Value("rbd_plugin_volumes_mounted"));
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> ReadyzAsync()
    {
        using var response = await _admin.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    private async Task<IReadOnlyList<PrometheusText.Sample>> ScrapeAsync()
    {
        using var response = await _admin.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await PrometheusText.ParseAsync(await response.Content.ReadAsStringAsync());
    }
}
