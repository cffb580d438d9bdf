using System.Security.Cryptography;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// The kernel VM (deploy/kernel-vm.sh) as its <c>env</c> command exports it: the guest agent's socket, the guest
/// cluster's conf and keyrings (paths inside the guest), a read-write share for logs, and the daemon binary. One
/// guest for the whole run, shared by every Kernel-tier test (they run one after another: the guest is emulated on
/// two cores). Missing settings fail the tests, never skip them: a green run must mean the real kernel ran.
/// </summary>
public sealed class KernelGuest : IAsyncLifetime
{
    public const string Hint = "run `deploy/kernel-vm.sh up && eval \"$(deploy/kernel-vm.sh env)\"` first (deploy/test.sh Kernel does it)";

    private GuestAgent? _agent;

    internal GuestAgent Agent => _agent ?? throw new InvalidOperationException("the kernel guest fixture did not initialise");

    public static string CephConf => Require("RBD_KERNEL_CEPH_CONF");

    public static string ClientId => Require("RBD_KERNEL_CEPH_ID");

    public static string Keyring => Require("RBD_KERNEL_KEYRING");

    public static string AdminKeyring => Require("RBD_KERNEL_ADMIN_KEYRING");

    public static string Pool => Require("RBD_KERNEL_POOL");

    public static string ExtraPool => Require("RBD_KERNEL_EXTRA_POOL");

    /// <summary>The share as this machine sees it, and as the guest does.</summary>
    public static string ShareHost => Require("RBD_KERNEL_SHARE_HOST");

    public static string ShareGuest => Require("RBD_KERNEL_SHARE_GUEST");

    /// <summary>
    /// The daemon the guest runs: the Native AOT binary (the JIT runtime does not start in a small emulated guest).
    /// deploy/test.sh copies each build to a fresh path (RBD_KERNEL_DAEMON): the guest caches the host's files
    /// over 9p, and a path it read before could show it the previous build.
    /// </summary>
    public static string Daemon => Environment.GetEnvironmentVariable("RBD_KERNEL_DAEMON") is { Length: > 0 } d ? d : PluginProcess.Binary;

    /// <summary>This run's folder on the share (guest path); each daemon logs below it.</summary>
    public string RunDirGuest { get; } = "";

    public string RunDirHost { get; } = "";

    public KernelGuest()
    {
        var run = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
        if (Environment.GetEnvironmentVariable("RBD_KERNEL_SHARE_HOST") is { Length: > 0 } && Environment.GetEnvironmentVariable("RBD_KERNEL_SHARE_GUEST") is { Length: > 0 })
        {
            RunDirHost = Path.Combine(ShareHost, run);
            RunDirGuest = Path.Combine(ShareGuest, run);
        }
    }

    public async Task InitializeAsync()
    {
        _agent = new GuestAgent(Require("RBD_KERNEL_QGA_SOCKET"));
        await Agent.PingAsync();
        Directory.CreateDirectory(RunDirHost);
        // The cluster answers, the modules are loaded, and the guest sees the same daemon build as this machine.
        (await RbdAsync("ls", Pool)).EnsureSuccess();
        (await ExecAsync("test", "-d", "/sys/bus/rbd")).EnsureSuccess();
        (await ExecAsync("test", "-d", "/sys/module/nbd")).EnsureSuccess();
        var guestHash = (await ExecAsync("sha256sum", Daemon)).EnsureSuccess().Stdout.Split(' ')[0];
        await using var file = File.OpenRead(Daemon);
        var hostHash = Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
        if (guestHash != hostHash)
        {
            throw new InvalidOperationException(
                $"the guest sees another build of {Daemon} than this machine (9p caches what the guest read): publish before " +
                "`deploy/kernel-vm.sh up`, or give RBD_KERNEL_DAEMON a fresh path (deploy/test.sh does)");
        }
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }
    }

    internal Task<GuestResult> ExecAsync(params string[] argv) => Agent.ExecAsync(argv);

    /// <summary>A bash script in the guest, its arguments as $1..$N (never spliced into the script's text).</summary>
    internal Task<GuestResult> ShAsync(string script, params string[] args) => ShAsync(script, (IReadOnlyList<string>)args);

    internal Task<GuestResult> ShAsync(string script, IReadOnlyList<string> args) =>
        Agent.ExecAsync(["/bin/bash", "-c", "set -euo pipefail\n" + script, "guest-sh", .. args]);

    /// <summary>rbd as the plugin's client (client.docker) against the guest's cluster.</summary>
    internal Task<GuestResult> RbdAsync(params string[] args) =>
        Agent.ExecAsync(["rbd", "-c", CephConf, "--id", ClientId, "--keyring", Keyring, .. args]);

    /// <summary>ceph as client.admin (blocklisting is an admin's act in these tests: a fencing host does it with its own caps).</summary>
    internal Task<GuestResult> CephAdminAsync(params string[] args) =>
        Agent.ExecAsync(["ceph", "-c", CephConf, "-n", "client.admin", "--keyring", AdminKeyring, .. args]);

    internal Task<GuestResult> RadosAsync(params string[] args) =>
        Agent.ExecAsync(["rados", "-c", CephConf, "--id", ClientId, "--keyring", Keyring, .. args]);

    /// <summary><c>rbd device list -t TYPE --format json</c>: the devices mapping the head of POOL/IMAGE.</summary>
    internal async Task<IReadOnlyList<string>> MappedDevicesAsync(string mapper, string image)
    {
        var json = (await RbdAsync("device", "list", "-t", mapper, "--format", "json")).EnsureSuccess().Stdout;
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        using var doc = JsonDocument.Parse(json);
        return [.. doc.RootElement.EnumerateArray()
            .Where(r => Text(r, "pool") == Pool && (Text(r, "name") ?? Text(r, "image")) == image && Text(r, "snap") is "" or "-" or null)
            .Select(r => Text(r, "device")!)];
    }

    /// <summary>The dm devices open for the volume in the guest's kernel (one per line), "" when none.</summary>
    internal async Task<string> CryptDevicesOfAsync(string volume) =>
        (await ShAsync("""
            for d in /sys/block/dm-*; do
              [[ -e $d/dm/name ]] || continue
              name=$(<"$d/dm/name")
              [[ $name == *"$1" ]] && echo "$name"
            done
            true
            """, volume)).EnsureSuccess().Stdout.Trim();

    /// <summary>The pid of the one rbd-nbd serving the image: its row's id in rbd's device list.</summary>
    internal async Task<int> RbdNbdPidAsync(string image)
    {
        var json = (await RbdAsync("device", "list", "-t", "nbd", "--format", "json")).EnsureSuccess().Stdout;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Where(r => Text(r, "image") == image).Select(r => r.GetProperty("id").GetInt32()).Single();
    }

    /// <summary>
    /// Every kernel-level trace of a mapping of the image: krbd devices in /sys/bus/rbd/devices naming it, rbd-nbd
    /// processes serving it, and nbd devices still connected (sysfs pid) to a process that serves nothing.
    /// Empty = the mapping is really gone, not only missing from rbd's list.
    /// </summary>
    internal async Task<string> KernelTracesAsync(string image) =>
        (await ShAsync("""
            for d in /sys/bus/rbd/devices/*; do
              [[ -e $d/name ]] || continue
              [[ $(<"$d/name") == "$1" ]] && echo "krbd rbd${d##*/}"
            done
            for p in /proc/[0-9]*; do
              cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
              [[ $cmd == *rbd-nbd* && $cmd == *"/$1 "* ]] && echo "rbd-nbd pid ${p#/proc/}"
            done
            for n in /sys/block/nbd*; do
              [[ -e $n/pid ]] || continue
              pid=$(<"$n/pid")
              cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || { echo "${n##*/} connected to gone pid $pid"; continue; }
              [[ $cmd == *rbd-nbd* ]] || echo "${n##*/} connected to pid $pid: $cmd"
            done
            true
            """, image)).EnsureSuccess().Stdout.Trim();

    /// <summary>argv run inside the mount namespace of process <paramref name="ns"/> (nsenter), or as is when null.</summary>
    internal static string[] In(int? ns, params string[] argv) =>
        ns is { } pid ? ["nsenter", "-t", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "--", .. argv] : argv;

    /// <summary>
    /// Removes what the volumes may have left, whatever state a test ended in: krbd mappings (forced), rbd-nbd
    /// daemons (killed, and their devices disconnected), snapshots, images, index entries and lease objects. One script,
    /// because every rbd and rados run costs a second or more in the emulated guest.
    /// </summary>
    internal async Task RemoveVolumesAsync(IReadOnlyList<string> volumes)
    {
        if (volumes.Count == 0)
        {
            return;
        }

        await ShAsync("""
            set +e
            conf=$1 id=$2 keyring=$3 pool=$4; shift 4
            c=(-c "$conf" --id "$id" --keyring "$keyring")
            # Encrypted volumes' crypt devices first (rbd-plugin-HASH-VOLUME): they hold the mapping open.
            for d in /sys/block/dm-*; do
              [[ -e $d/dm/name ]] || continue
              name=$(<"$d/dm/name")
              for v; do [[ $name == rbd-plugin-*-"$v" ]] && cryptsetup close --deferred "$name"; done
            done
            for d in /sys/bus/rbd/devices/*; do
              [[ -e $d/name ]] || continue
              name=$(<"$d/name")
              for v; do [[ $name == "$v" ]] && rbd "${c[@]}" device unmap -t krbd -o noudev,force "/dev/rbd${d##*/}"; done
            done
            for p in /proc/[0-9]*; do
              cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
              for v; do [[ $cmd == *rbd-nbd* && $cmd == *"/$v "* ]] && kill -KILL "${p#/proc/}"; done
            done
            # Mapped through netlink, an nbd device outlives its rbd-nbd (waiting for a re-attach): disconnect every
            # device whose process is gone, or it would linger into the next tests for the reattach timeout.
            sleep 0.5
            for f in /sys/block/nbd*/pid; do
              [[ -e $f ]] || continue
              [[ -d /proc/$(<"$f") ]] && continue
              d=${f%/pid}
              rbd "${c[@]}" device unmap -t nbd "/dev/${d##*/}"
            done
            for v; do
              rbd "${c[@]}" rm --no-progress "$pool/$v" 2>/dev/null || { rbd "${c[@]}" snap purge --no-progress "$pool/$v"; rbd "${c[@]}" rm --no-progress "$pool/$v"; }
              rados "${c[@]}" -p "$pool" rmomapkey rbd-plugin.volumes "$v"
              rados "${c[@]}" -p "$pool" rm "rbd-plugin.lease.$v"
            done 2>/dev/null
            true
            """, [CephConf, ClientId, Keyring, Pool, .. volumes]);
    }

    /// <summary>The source device of a mount point (in the guest's root mount namespace, or NS's), or null when nothing is mounted there.</summary>
    internal async Task<string?> MountSourceAsync(string mountpoint, int? ns = null)
    {
        var result = await Agent.ExecAsync(In(ns, "findmnt", "-n", "-o", "SOURCE", "--mountpoint", mountpoint));
        return result.Succeeded ? result.Stdout.Trim() : null;
    }

    internal async Task<string> Sha256Async(string path, int? ns = null) =>
        (await Agent.ExecAsync(In(ns, "sha256sum", path))).EnsureSuccess().Stdout.Split(' ')[0];

    /// <summary>Writes N MiB of random data to a file with fsync and returns its sha256.</summary>
    internal async Task<string> WriteRandomAsync(string path, int mib = 1, int? ns = null)
    {
        (await Agent.ExecAsync(In(ns, "dd", "if=/dev/urandom", $"of={path}", "bs=1M", $"count={mib}", "conv=fsync", "status=none"))).EnsureSuccess();
        return await Sha256Async(path, ns);
    }

    /// <summary>
    /// A new private mount namespace in the guest, held by a sleeping process whose pid names it: another "host"
    /// (its mounts invisible to the others). The kernel, and so the rbd device list, stays shared.
    /// </summary>
    internal async Task<int> NewMountNamespaceAsync()
    {
        var pid = await Agent.SpawnAsync(["unshare", "-m", "--propagation", "private", "sleep", "infinity"]);
        await WaitUntilAsync(async () => (await ShAsync("""[[ $(readlink /proc/$1/ns/mnt) != "$(readlink /proc/1/ns/mnt)" ]]""",
            pid.ToString(System.Globalization.CultureInfo.InvariantCulture))).Succeeded, TimeSpan.FromSeconds(30), "unshare -m to run");
        return pid;
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        for (var deadline = DateTime.UtcNow + timeout; !await condition(); await Task.Delay(250))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"in the guest: {what} did not happen within {timeout.TotalSeconds:0} s");
            }
        }
    }

    private static string? Text(JsonElement row, string property) =>
        row.TryGetProperty(property, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString() : null;

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: {Hint}");
}

[CollectionDefinition(Name)]
public sealed class SharedKernelGuest : ICollectionFixture<KernelGuest>
{
    public const string Name = "Kernel guest";
}
