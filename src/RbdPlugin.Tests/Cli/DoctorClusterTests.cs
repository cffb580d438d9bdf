using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Cli;

/// <summary>
/// <c>rbd-plugin doctor</c> on this host against the dev cluster: OK on a healthy setup (a running daemon and a spec
/// file naming its socket), and each broken part found, named, and given its fix.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class DoctorClusterTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-doctor-").FullName;
    private PluginProcess? _daemon;

    private string PluginDir => Path.Combine(_root, "plugins");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(PluginDir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    private Task<ToolResult> DoctorAsync(string socket, params string[] args) =>
        CliProcess.RunAsync(["doctor", "--json", "--socket", socket, "--docker-plugin-dir", PluginDir, "--mapper", "fuse", .. args]);

    private async Task<string> StartDaemonAsync()
    {
        _daemon = new PluginProcess(Path.Combine(_root, "a"), "host-a");
        await _daemon.StartAsync();
        return _daemon.Socket;
    }

    private static JsonElement Check(ToolResult result, string name) =>
        result.Json.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Fact]
    public async Task Doctor_HealthySetup_AllOkExit0()
    {
        // Arrange: a running daemon and a spec file naming its socket, as install.sh writes one
        var socket = await StartDaemonAsync();
        await File.WriteAllTextAsync(Path.Combine(PluginDir, "rbd-doctor.spec"), $"unix://{socket}\n");

        // Act
        var result = await DoctorAsync(socket);

        // Assert
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var checks = result.Json.EnumerateArray().ToList();
        Assert.All(checks, c => Assert.True(c.GetProperty("ok").GetBoolean(), c.ToString()));
        Assert.All(checks, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("fix").ValueKind));
        Assert.Equal(
            ["configuration", "keyring", "ceph.conf", "ceph", "caps: volume index", $"caps: images in {DevCluster.Pool}", $"caps: images in {DevCluster.ExtraPool}",
                "caps: blocklist", "mapper", "plugin socket", "docker discovery"],
            checks.Select(c => c.GetProperty("name").GetString()));
        Assert.Contains("rbd-doctor", Check(result, "docker discovery").GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The probe image is gone again.
        Assert.DoesNotContain("rbd-plugin-doctor-", (await CephCli.RunAsync("rbd", "ls", DevCluster.Pool)).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_KeyringPathBroken_FailsNamingTheSettingAndFix()
    {
        var missing = Path.Combine(_root, "no-such.keyring");

        var result = await DoctorAsync(Path.Combine(_root, "none.sock"), "--keyring", missing);

        Assert.Equal(1, result.ExitCode);
        var keyring = Check(result, "keyring");
        Assert.False(keyring.GetProperty("ok").GetBoolean());
        Assert.Contains($"Keyring={missing}", keyring.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("--keyring", keyring.GetProperty("fix").GetString(), StringComparison.Ordinal);
        Assert.False(Check(result, "ceph").GetProperty("ok").GetBoolean());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Doctor_KeyringReadableByOthers_FailsWithChmod_RestStillChecked()
    {
        var copy = Path.Combine(_root, "open.keyring");
        File.Copy(DevCluster.KeyringPath, copy);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var result = await DoctorAsync(Path.Combine(_root, "none.sock"), "--keyring", copy);

        Assert.Equal(1, result.ExitCode);
        var keyring = Check(result, "keyring");
        Assert.False(keyring.GetProperty("ok").GetBoolean());
        Assert.Contains("mode 0644", keyring.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains($"chmod 0600 {copy}", keyring.GetProperty("fix").GetString(), StringComparison.Ordinal);
        Assert.True(Check(result, "ceph").GetProperty("ok").GetBoolean(), Check(result, "ceph").ToString());
    }

    [Fact]
    public async Task Doctor_NoSocketNoSpec_BothFailWithTheirFixes()
    {
        var socket = Path.Combine(_root, "none.sock");

        var result = await DoctorAsync(socket);

        Assert.Equal(1, result.ExitCode);
        var plugin = Check(result, "plugin socket");
        Assert.False(plugin.GetProperty("ok").GetBoolean());
        Assert.Contains("does not exist", plugin.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var discovery = Check(result, "docker discovery");
        Assert.False(discovery.GetProperty("ok").GetBoolean());
        Assert.Contains($"unix://{socket}", discovery.GetProperty("fix").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_DaemonAnswersButNoSpec_SocketOkDiscoveryFails_TextSaysFix()
    {
        var socket = await StartDaemonAsync();

        var json = await DoctorAsync(socket);
        var text = await CliProcess.RunAsync("doctor", "--socket", socket, "--docker-plugin-dir", PluginDir, "--mapper", "fuse");

        Assert.Equal(1, json.ExitCode);
        Assert.True(Check(json, "plugin socket").GetProperty("ok").GetBoolean(), Check(json, "plugin socket").ToString());
        Assert.Contains("VolumeDriver", Check(json, "plugin socket").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(Check(json, "docker discovery").GetProperty("ok").GetBoolean());
        Assert.Equal(1, text.ExitCode);
        Assert.Contains("FAIL  docker discovery", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("fix: write", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 of 11 checks failed", text.Stdout, StringComparison.Ordinal);
    }
}
