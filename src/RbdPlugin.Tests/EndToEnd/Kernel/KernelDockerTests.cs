using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// <c>docker volume create -d rbd -o encrypted=true</c> end to end: a real dockerd in the guest (deploy/dev-docker.sh,
/// run there) drives the plugin over its socket, on krbd with the guest kernel's dm-crypt. dm-crypt exists only in
/// the guest, so this is the one place where Docker itself can create, mount and remove an encrypted volume.
/// </summary>
public sealed class KernelDockerTests(KernelGuest guest) : KernelTest(guest)
{
    private const string SpecFile = "/etc/docker/plugins/rbd.spec";

    [Fact]
    public async Task DockerVolumeCreateEncrypted_ContainersWriteAndReadThroughDmCrypt_TheImageHoldsOnlyCiphertext()
    {
        var key = $"/run/rbd-kernel-tests/docker-kek-{Guid.NewGuid():N}";
        (await Guest.ExecAsync("mkdir", "-p", "/run/rbd-kernel-tests")).EnsureSuccess();
        (await Guest.ExecAsync(KernelGuest.Daemon, "key", "generate", key)).EnsureSuccess();
        // The plugin in the guest's root mount namespace, dockerd's: the containers' mounts come from there.
        var plugin = await StartPluginAsync("krbd", extraArgs: ["--encryption-key-file", key]);
        (await Guest.ShAsync("""mkdir -p /etc/docker/plugins && printf 'unix://%s\n' "$1" > "$2" """, plugin.Socket, SpecFile)).EnsureSuccess();
        try
        {
            await StartEngineAsync();
            var volume = NewVolume();
            var marker = "RBD-PLUGIN-DOCKER-MARKER-" + Guid.NewGuid().ToString("N");

            (await DockerAsync("volume", "create", "-d", "rbd", "-o", "size=256M", "-o", "encrypted=true", volume)).EnsureSuccess();
            var inspect = (await DockerAsync("volume", "inspect", volume)).EnsureSuccess().Stdout;
            using (var doc = JsonDocument.Parse(inspect))
            {
                var status = doc.RootElement[0].GetProperty("Status");
                Assert.Equal("true", status.GetProperty("encrypted").ToString().ToLowerInvariant());
            }

            // A container writes through the crypt device; the filesystem it sees is on /dev/mapper/rbd-plugin-...
            var written = (await DockerAsync("run", "--rm", "--network", "none", "-v", $"{volume}:/data", "busybox:local", "sh", "-c",
                "grep ' /data ' /proc/mounts | cut -d' ' -f1; for i in $(seq 1 2000); do echo \"$1\"; done > /data/marker.txt; sync; sha256sum /data/marker.txt",
                "sh", marker)).EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("/dev/mapper/rbd-plugin-", written[0], StringComparison.Ordinal);
            await WaitReleasedAsync(plugin, volume);

            // What Ceph holds is ciphertext.
            var export = $"/run/rbd-kernel-tests/{volume}.img";
            (await Guest.RbdAsync("export", "--no-progress", $"{KernelGuest.Pool}/{volume}", export)).EnsureSuccess();
            Assert.True((await Guest.ExecAsync("cryptsetup", "isLuks", export)).Succeeded, "the exported image is not LUKS");
            Assert.Equal(1, (await Guest.ExecAsync("grep", "-c", "-a", "-F", marker, export)).ExitCode); // 1: no match
            (await Guest.ExecAsync("rm", "-f", export)).EnsureSuccess();

            // Another container reads the same bytes; no second luksFormat or mkfs.
            var read = (await DockerAsync("run", "--rm", "--network", "none", "-v", $"{volume}:/data", "busybox:local",
                "sha256sum", "/data/marker.txt")).EnsureSuccess().Stdout.Trim();
            Assert.Equal(written[^1].Split(' ')[0], read.Split(' ')[0]);
            Assert.Equal(1, plugin.FormatCount(volume));
            await WaitReleasedAsync(plugin, volume);

            (await DockerAsync("volume", "rm", volume)).EnsureSuccess();
            Assert.False((await Guest.RbdAsync("info", $"{KernelGuest.Pool}/{volume}")).Succeeded, "docker volume rm left the image");
        }
        finally
        {
            await StopEngineAsync();
            await Guest.ExecAsync("rm", "-f", SpecFile, key);
        }
    }

    private static string DevDockerScript => Path.Combine(DockerTlsTests.RepoRoot(), "deploy", "dev-docker.sh");

    /// <summary>
    /// dev-docker.sh's main engine, the guest's own. Its state dir gets a tmpfs first: through the overlay the guest
    /// sees this machine's engine state there, and dockerd's renames across the overlay's layers fail (EXDEV).
    /// </summary>
    private async Task StartEngineAsync()
    {
        (await Guest.ShAsync("""mkdir -p "$1" && { mountpoint -q "$1" || mount -t tmpfs -o mode=0700 tmpfs "$1"; }""", EngineState)).EnsureSuccess();
        var up = await Guest.Agent.ExecAsync(["bash", DevDockerScript, "up"], TimeSpan.FromMinutes(4), env: ["RBD_DEV_DOCKER_START_TIMEOUT=180"]);
        Assert.True(up.Succeeded, $"dev-docker.sh up in the guest exited {up.ExitCode}: {up.Stderr}");
    }

    private async Task StopEngineAsync()
    {
        await Guest.Agent.ExecAsync(["bash", DevDockerScript, "down"], TimeSpan.FromMinutes(2));
        await Guest.ShAsync("""! mountpoint -q "$1" || umount -l "$1" """, EngineState);
    }

    private const string EngineState = "/var/lib/rbd-plugin-dev";

    private Task<GuestResult> DockerAsync(params string[] args) => Guest.Agent.ExecAsync(["docker", .. args], TimeSpan.FromMinutes(4));
}
