using System.Runtime.Versioning;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Hosting;

/// <summary>
/// The real daemon: MountRoot is root only (0700) from its start, even when an older version left it and its
/// mountpoints 0755, so another local user cannot list or read a mounted volume, while root (Docker) can.
/// </summary>
[Trait("Tier", "Cluster")]
[SupportedOSPlatform("linux")]
public sealed class MountPermissionsClusterTests : IAsyncLifetime
{
    private const UnixFileMode Open = (UnixFileMode)0b111_101_101; // 0755
    private const UnixFileMode RootOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-perms-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly string _mountId = PluginClient.NewMountId();
    private PluginProcess _plugin = null!;
    private PluginClient _client = null!;

    public async Task InitializeAsync()
    {
        // The temp directory itself is 0700: open it, so that only MountRoot's own mode stands between a user and the volumes.
        File.SetUnixFileMode(_root, Open);
        _plugin = new PluginProcess(_root, "host-a", "--unmount-grace", "200ms");
        Directory.CreateDirectory(Path.Combine(_plugin.MountRoot, "stale"));
        File.SetUnixFileMode(_plugin.MountRoot, Open);
        File.SetUnixFileMode(Path.Combine(_plugin.MountRoot, "stale"), Open);
        Directory.CreateDirectory(_plugin.StateDir);
        File.SetUnixFileMode(_plugin.StateDir, Open); // as an older version left it
        await _plugin.StartAsync();
        _client = _plugin.Client();
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _client.UnmountAsync(_volume, _mountId);
        }
        catch (Exception e) when (e is PluginErrorException or HttpRequestException)
        {
        }

        _client.Dispose();
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await VolumeLeftovers.RemoveAsync(_volume);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Mount_AnotherUid_CannotListOrReadTheVolume_RootCan()
    {
        // Arrange: a mounted volume holding a world-readable file.
        await _client.CreateAsync(_volume, new() { ["size"] = "64M" });
        var mountpoint = await _client.MountAsync(_volume, _mountId);
        var secret = Path.Combine(mountpoint, "secret");
        await File.WriteAllTextAsync(secret, "volume data");
        File.SetUnixFileMode(secret, (UnixFileMode)0b110_100_100);

        // Act
        var list = await AsNobodyAsync("ls", mountpoint);
        var read = await AsNobodyAsync("cat", secret);
        var listRoot = await AsNobodyAsync("ls", _plugin.MountRoot);

        // Assert
        Assert.Equal(RootOnly, File.GetUnixFileMode(_plugin.MountRoot));
        Assert.Equal(RootOnly, File.GetUnixFileMode(Path.Combine(_plugin.MountRoot, "stale"))); // tightened at start
        Assert.Equal(RootOnly, File.GetUnixFileMode(_plugin.StateDir)); // the journal, the lease token, rbd-fuse's mounts
        Assert.NotEqual(0, list.ExitCode);
        Assert.Contains("Permission denied", list.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, read.ExitCode);
        Assert.NotEqual(0, listRoot.ExitCode);
        Assert.Equal("volume data", await File.ReadAllTextAsync(secret)); // root, as dockerd, still reads it
    }

    /// <summary>Runs a command as nobody (uid and gid 65534, no supplementary groups).</summary>
    private static Task<ToolResult> AsNobodyAsync(string program, string path) =>
        ToolProcess.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", program, path], TimeSpan.FromSeconds(30));
}
