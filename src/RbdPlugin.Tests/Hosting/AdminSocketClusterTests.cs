using System.Net;
using RbdPlugin.Operations;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Hosting;

/// <summary>
/// The real daemon's admin socket: root-only, serving health and admin routes, and kept apart from Docker's socket
/// in both directions (no admin route on Docker's socket, no plugin verb on the admin socket).
/// </summary>
[Trait("Tier", "Cluster")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AdminSocketClusterTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-admin-").FullName;
    private PluginProcess _plugin = null!;

    private string AdminSocket => Path.Combine(_plugin.StateDir, "admin.sock");

    public async Task InitializeAsync()
    {
        _plugin = new PluginProcess(_root, "host-admin");
        await _plugin.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _plugin.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task The_admin_socket_is_root_only_and_answers_healthz_with_the_host_id()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AdminSocket));
        using var admin = Protocol.PluginServer.UnixClient(AdminSocket);
        using var response = await admin.GetAsync(new Uri("http://localhost/healthz"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"hostId\":\"host-admin\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var client = new AdminClient(AdminSocket, TimeSpan.FromSeconds(10));
        Assert.True(await client.IsServingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Dockers_socket_does_not_serve_admin_routes_and_the_admin_socket_does_not_serve_plugin_verbs()
    {
        using var plugin = Protocol.PluginServer.UnixClient(_plugin.Socket);
        using var health = await plugin.GetAsync(new Uri("http://localhost/healthz"));
        Assert.Equal(HttpStatusCode.NotFound, health.StatusCode);

        using var admin = _plugin.Client();
        var (status, _) = await new PluginClient(AdminSocket).PostAsync("/VolumeDriver.List", "{}");
        Assert.Equal(404, status);
        var (pluginStatus, _) = await admin.PostAsync("/VolumeDriver.List", "{}");
        Assert.Equal(200, pluginStatus);
    }

    [Fact]
    public async Task The_client_says_which_socket_has_no_daemon()
    {
        using var client = new AdminClient(Path.Combine(_root, "nobody.sock"), TimeSpan.FromSeconds(5));
        Assert.False(await client.IsServingAsync(CancellationToken.None));
        var e = await Assert.ThrowsAsync<RbdPlugin.Volumes.VolumeException>(() =>
            client.PostAsync("volumes/x/grow", "x", AdminJsonContext.Default.String, AdminJsonContext.Default.String, CancellationToken.None));
        Assert.Contains("nobody.sock", e.Message, StringComparison.Ordinal);
        Assert.Equal(RbdPlugin.Volumes.VolumeErrorKind.Unavailable, e.Kind);
    }
}
