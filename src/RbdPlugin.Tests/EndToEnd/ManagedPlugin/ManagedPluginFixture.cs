using System.Diagnostics;
using System.Runtime.Versioning;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.ManagedPlugin;

/// <summary>
/// The managed (v2) plugin as a user installs it: <c>deploy/managed-plugin/build.sh</c> (the rootfs tarball cached
/// per package list, the daemon the tests run everywhere), then <c>deploy/managed-plugin/install.sh</c> into a
/// named engine of its own (<c>deploy/dev-docker.sh up --name mpt</c>), so no other Docker-tier test sees the
/// plugin, its driver name or its mounts. The plugin's Ceph directory holds the dev cluster's ceph.conf (which
/// names run and log directories that do not exist in the plugin's rootfs) and client.docker's keyring; its state
/// directory is a host directory. Everything is removed at the end: plugins, engine, mounts, loop devices.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ManagedPluginFixture : IAsyncLifetime
{
    public const string EngineName = "mpt";

    /// <summary>The plugin's name, which is the volume driver's name (a managed plugin's is NAME:TAG).</summary>
    public const string Name = "rbd-mpt";

    /// <summary>Where the plugin sees its state (config.json): the state mount's destination.</summary>
    public const string PluginStateDir = "/var/lib/rbd-plugin/state";

    /// <summary>Where everything of this fixture lives on the host (the tests' host dirs, the plugin directories).</summary>
    public const string Root = "/var/lib/rbd-plugin-mpt";

    public static string CephDir => Path.Combine(Root, "ceph");

    public static string StateDir => Path.Combine(Root, "state");

    internal NamedEngine Engine { get; private set; } = null!;

    internal HostNamespace Namespace { get; private set; } = null!;

    /// <summary>How long the builds and the first install took, for the report.</summary>
    public List<string> Timings { get; } = [];

    public async Task InitializeAsync()
    {
        await RemoveLeftoversAsync();
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(CephDir, MountRootMode);
        File.Copy(DevCluster.ConfPath, Path.Combine(CephDir, "ceph.conf"));
        File.Copy(DevCluster.KeyringPath, Path.Combine(CephDir, $"ceph.client.{DevCluster.ClientId}.keyring"));
        File.SetUnixFileMode(Path.Combine(CephDir, $"ceph.client.{DevCluster.ClientId}.keyring"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var build = BuildAsync("1");
        Engine = await NamedEngine.UpAsync(EngineName);
        Namespace = HostNamespace.OfEngine(EngineName);
        await build;
        await InstallAsync(PluginDir("1"));
    }

    private const UnixFileMode MountRootMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static string PluginDir(string release) => Path.Combine(Root, $"plugin-{release}");

    /// <summary>deploy/managed-plugin/build.sh --binary DAEMON --release test-RELEASE DIR.</summary>
    public async Task BuildAsync(string release)
    {
        var clock = Stopwatch.StartNew();
        var daemon = Environment.GetEnvironmentVariable("RBD_TEST_DAEMON");
        if (string.IsNullOrEmpty(daemon))
        {
            throw new InvalidOperationException("RBD_TEST_DAEMON is not set: deploy/test.sh publishes the daemon and sets it");
        }

        (await ToolProcess.RunAsync(Script("build.sh"), ["--binary", daemon, "--release", $"test-{release}", PluginDir(release)],
            TimeSpan.FromMinutes(25))).EnsureSuccess($"build.sh (release {release})");
        Timings.Add($"build.sh release {release}: {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>A second release of the plugin directory <paramref name="from"/> as build.sh with <c>--release</c> makes it,
    /// without unpacking the rootfs again (the cached build is proven by the fixture's own): a hard-linked copy whose
    /// release file is a new file (Docker refuses a second plugin with an identical rootfs).</summary>
    public static async Task CopyAsReleaseAsync(string from, string release)
    {
        var dir = PluginDir(release);
        (await ToolProcess.RunAsync("cp", ["-al", PluginDir(from), dir])).EnsureSuccess("cp -al");
        var file = Path.Combine(dir, "rootfs", "etc", "rbd-plugin", "release");
        File.Delete(file); // a hard link to release 1's
        await File.WriteAllTextAsync(file, $"test-{release}\n");
    }

    /// <summary>deploy/managed-plugin/install.sh -H ENGINE --name NAME --ceph-dir --state-dir ... DIR (create, set,
    /// enable); <paramref name="replace"/>: the upgrade in place (disable -f, rm, create, enable).</summary>
    internal async Task<ToolResult> InstallAsync(string dir, bool replace = false)
    {
        var clock = Stopwatch.StartNew();
        string[] args =
        [
            "-H", Engine.Host, "--name", Name, "--ceph-dir", CephDir, "--state-dir", StateDir,
            "--set", "RBD_PLUGIN_REMOVE_ACTION=delete", "--set", "RBD_PLUGIN_UNMOUNT_GRACE=200ms",
            .. replace ? new[] { "--replace" } : Array.Empty<string>(), dir,
        ];
        var result = await ToolProcess.RunAsync(Script("install.sh"), args, TimeSpan.FromMinutes(3));
        Timings.Add($"install.sh{(replace ? " --replace" : "")} {Path.GetFileName(dir)}: {clock.Elapsed.TotalSeconds:0.0} s");
        return result.EnsureSuccess("install.sh");
    }

    /// <summary>docker -H ENGINE ARGS.</summary>
    internal Task<ToolResult> DockerAsync(params string[] args) => Engine.DockerAsync(args);

    /// <summary>docker plugin disable -f, unless it is disabled already (-f: Docker refuses while volumes of the
    /// driver exist).</summary>
    public async Task DisableAsync()
    {
        if ((await DockerAsync("plugin", "inspect", "-f", "{{.Enabled}}", Name)).EnsureSuccess().Output == "true")
        {
            (await DockerAsync("plugin", "disable", "-f", Name)).EnsureSuccess("docker plugin disable -f");
        }
    }

    /// <summary>docker plugin enable, again while Docker is still restarting a plugin that failed to start (it does so
    /// until its enable gives up, and an enable meanwhile gets "id already in use"), until it is enabled.</summary>
    public async Task EnableAsync()
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(1000))
        {
            var enable = await DockerAsync("plugin", "enable", Name);
            if (enable.ExitCode == 0 || enable.Stderr.Contains("already enabled", StringComparison.Ordinal))
            {
                return;
            }

            if (!enable.Stderr.Contains("id already in use", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                enable.EnsureSuccess("docker plugin enable");
            }
        }
    }

    public async Task<string> PluginIdAsync() => (await DockerAsync("plugin", "inspect", "-f", "{{.Id}}", Name)).EnsureSuccess().Output;

    /// <summary>The plugin's log lines as the engine logged them (a managed plugin's stdout and stderr go to dockerd's
    /// log, one line per line, tagged plugin=ID), since the log was <paramref name="offset"/> long.</summary>
    public async Task<List<string>> PluginLogAsync(long offset)
    {
        var id = await PluginIdAsync();
        return Engine.LogSince(offset).Split('\n').Where(l => l.Contains($"plugin={id}", StringComparison.Ordinal)).ToList();
    }

    /// <summary>The host path of a path under the propagated mount, in the engine's namespace.</summary>
    public async Task<string> PropagatedMountAsync() =>
        $"/var/lib/rbd-plugin-dev/{EngineName}/docker/plugins/{await PluginIdAsync()}/propagated-mount";

    /// <summary>A new volume name; the prefix marks this fixture's volumes for <see cref="RemoveLeftoversAsync"/>.</summary>
    public static string NewVolume() => VolumePrefix + Guid.NewGuid().ToString("N")[..10];

    private const string VolumePrefix = "mpt-";

    /// <summary>Where the fuse mapper puts the image's rbd-fuse mount, as the plugin sees it (FuseLayout).</summary>
    public static string FuseDir(string volume) => $"{PluginStateDir}/fuse/{DevCluster.Pool}.{volume}";

    /// <summary>What the volume still holds on this machine: loop devices on its rbd-fuse file, rbd-fuse processes
    /// (pidhost: they are in the host's pid namespace), mounts in the engine's namespace that name it.</summary>
    public List<string> Leftovers(string volume)
    {
        var prefix = FuseDir(volume);
        var found = HostCleanup.LoopsBackedUnder(prefix + "/").Select(l => $"loop device {l}").ToList();
        found.AddRange(HostCleanup.FuseProcessesUnder(prefix).Select(p => $"rbd-fuse pid {p}"));
        found.AddRange(Namespace.MountInfo().Where(f => f[4].EndsWith("/" + volume, StringComparison.Ordinal) || f[4].Contains($".{volume}", StringComparison.Ordinal))
            .Select(f => $"mount {f[4]}"));
        return found;
    }

    public async Task DisposeAsync()
    {
        if (Engine is not null)
        {
            var containers = (await Engine.DockerAsync("ps", "-aq")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (containers.Length > 0)
            {
                await Engine.DockerAsync(["rm", "-f", .. containers]);
            }

            foreach (var plugin in (await Engine.DockerAsync("plugin", "ls", "-q")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await Engine.DockerAsync("plugin", "disable", "-f", plugin);
                await Engine.DockerAsync("plugin", "rm", "-f", plugin);
            }

            await Engine.DisposeAsync();
        }

        await RemoveLeftoversAsync();
    }

    /// <summary>What a crashed earlier run may have left: the engine (its down cleans its namespace's mounts), loop
    /// devices and rbd-fuse processes of this fixture's volumes (by name: the path the plugin sees is also the systemd
    /// deployment's default, which another plugin on this machine may use), the fixture's directories.</summary>
    private static async Task RemoveLeftoversAsync()
    {
        await NamedEngine.ScriptAsync("down", "--name", EngineName);
        var ours = FuseDir(VolumePrefix);
        foreach (var pid in HostCleanup.FuseProcessesUnder(ours))
        {
            await ToolProcess.RunAsync("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        foreach (var loop in HostCleanup.LoopsBackedUnder(ours))
        {
            await ToolProcess.RunAsync("losetup", ["-d", loop]);
        }

        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static string Script(string name) => Path.Combine(DockerTlsTests.RepoRoot(), "deploy", "managed-plugin", name);
}
