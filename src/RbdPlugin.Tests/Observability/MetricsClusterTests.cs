using System.Net;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Observability;

/// <summary>
/// The real daemon against the dev cluster, scraped as Prometheus would (and parsed with Prometheus's own parser):
/// verbs counted per verb, failures per kind, the mounted gauge following a mount; /readyz; and a MetricsListen
/// TCP listener that serves metrics and health only.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class MetricsClusterTests : IAsyncLifetime
{
    private const string MountId = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-metrics-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private PluginProcess _plugin = null!;
    private PluginClient _client = null!;
    private HttpClient _admin = null!;
    private HttpClient _tcp = null!;

    public async Task InitializeAsync()
    {
        _plugin = new PluginProcess(_root, "host-metrics", "--unmount-grace", "200ms", "--metrics-listen", "127.0.0.1:0");
        await _plugin.StartAsync();
        _client = _plugin.Client();
        _admin = Protocol.PluginServer.UnixClient(_plugin.AdminSocket);
        _tcp = new HttpClient { BaseAddress = new Uri(MetricsAddress()), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _client.UnmountAsync(_volume, MountId);
            await _client.RemoveAsync(_volume);
        }
        catch (Exception e) when (e is PluginErrorException or HttpRequestException)
        {
        }

        _client.Dispose();
        _admin.Dispose();
        _tcp.Dispose();
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseAndRemoveAsync(_root, _volume);
    }

    [Fact]
    public async Task Scrape_AfterCreateMountUnmountRemove_CountsEveryVerbAndFollowsTheMount()
    {
        // Arrange: nothing mounted yet
        var before = await ScrapeAsync(_admin);
        Assert.Equal(0, before.Value("rbd_plugin_volumes_mounted"));
        Assert.Equal(0, before.Value("rbd_plugin_request_duration_seconds_count", "verb=VolumeDriver.Create"));

        // Act + Assert: mounted, the gauges say so
        await _client.CreateAsync(_volume, new() { ["size"] = "64M" });
        await _client.MountAsync(_volume, MountId);
        var mounted = await ScrapeAsync(_admin);
        Assert.Equal(1, mounted.Value("rbd_plugin_volumes_mounted"));
        Assert.Equal(1, mounted.Value("rbd_plugin_devices_mapped"));
        Assert.Equal(1, mounted.Value("rbd_plugin_leases_held"));

        // Unmounted (after the grace period), removed, then one request that fails in the driver
        await _client.UnmountAsync(_volume, MountId);
        var unmounted = await WaitForAsync(s => s.Value("rbd_plugin_volumes_mounted") == 0);
        Assert.Equal(0, unmounted.Value("rbd_plugin_devices_mapped"));
        Assert.Equal(0, unmounted.Value("rbd_plugin_leases_held"));
        await _client.RemoveAsync(_volume);
        var (status, _) = await _client.PostAsync("/VolumeDriver.Mount", JsonSerializer.Serialize(new { Name = DevCluster.NewName(), ID = MountId }));
        Assert.Equal(500, status);

        // Assert: scraped over TCP this time, every verb counted once, the failure by its kind
        var after = await ScrapeAsync(_tcp);
        foreach (var (verb, count) in new[] { ("Create", 1), ("Mount", 2), ("Unmount", 1), ("Remove", 1) })
        {
            Assert.Equal(count, after.Value("rbd_plugin_request_duration_seconds_count", $"verb=VolumeDriver.{verb}"));
            Assert.Equal(count, after.Value("rbd_plugin_request_duration_seconds_bucket", $"verb=VolumeDriver.{verb}", "le=+Inf"));
        }

        Assert.True(after.Value("rbd_plugin_request_duration_seconds_sum", "verb=VolumeDriver.Mount") > 0);
        Assert.Equal(1, after.Value("rbd_plugin_request_errors_total", "verb=VolumeDriver.Mount", "kind=NotFound"));
        Assert.DoesNotContain(after, s => s.Name == "rbd_plugin_request_errors_total" && s.Labels["verb"] != "VolumeDriver.Mount");
        Assert.Equal("histogram", after.First(s => s.Name == "rbd_plugin_request_duration_seconds_count").Type);
        Assert.Equal(1, after.Value("rbd_plugin_ceph_up"));
        Assert.Equal(0, after.Value("rbd_plugin_reconcile_volumes_total", "outcome=kept"));
        Assert.Equal(1, after.Value("rbd_plugin_build_info"));
        Assert.True(after.Value("rbd_plugin_trash_purge_last_success_timestamp_seconds") > 1.7e9);
        Assert.True(after.Value("process_working_set_bytes") > 0);
    }

    [Fact]
    public async Task Readyz_HealthyDaemon_200OnBothListeners()
    {
        foreach (var http in new[] { _admin, _tcp })
        {
            using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            var body = await ready.Content.ReadAsStringAsync();
            Assert.True(ready.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("ready", json.RootElement.GetProperty("status").GetString());
            Assert.True(json.RootElement.GetProperty("cephReachable").GetBoolean());
            Assert.True(json.RootElement.GetProperty("reconciled").GetBoolean());
        }
    }

    [Fact]
    public async Task MetricsListen_ServesMetricsAndHealthOnly_DockersSocketServesNeither()
    {
        using (var health = await _tcp.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        foreach (var (method, path) in new[] { ("POST", "/Plugin.Activate"), ("POST", "/VolumeDriver.List"), ("POST", "/admin/v1/volumes/x/grow"), ("GET", "/admin/v1") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") };
            using var response = await _tcp.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path} on MetricsListen answered {response.StatusCode}");
        }

        using var docker = Protocol.PluginServer.UnixClient(_plugin.Socket);
        foreach (var path in new[] { "/metrics", "/readyz" })
        {
            using var response = await docker.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path} on Docker's socket answered {response.StatusCode}");
        }
    }

    private static async Task<IReadOnlyList<PrometheusText.Sample>> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        return await PrometheusText.ParseAsync(await response.Content.ReadAsStringAsync());
    }

    private async Task<IReadOnlyList<PrometheusText.Sample>> WaitForAsync(Func<IReadOnlyList<PrometheusText.Sample>, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var samples = await ScrapeAsync(_admin);
            if (condition(samples))
            {
                return samples;
            }

            Assert.True(DateTime.UtcNow < deadline, "the metrics did not reach the expected state within 30 s");
            await Task.Delay(100);
        }
    }

    /// <summary>MetricsListen is 127.0.0.1:0: Kestrel's "Now listening on" line says which port it got.</summary>
    private string MetricsAddress() =>
        _plugin.Log.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => e.TryGetProperty("address", out var a) ? a.GetString() : null)
            .First(a => a is not null && a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))!;
}
