using System.Globalization;

namespace RbdPlugin.Node;

/// <summary>
/// rbd-nbd (<c>rbd device map -t nbd</c>): librbd in a userspace daemon behind /dev/nbdN. Slower than krbd but
/// opens every image feature, so <see cref="SupportedFeatures"/> is null. The rbd-nbd daemon serves I/O for as
/// long as the mapping lives: a service manager must not kill it with the plugin (systemd: KillMode=process).
/// Where it dies anyway (inside a managed plugin, which Docker stops as one container), the device survives it:
/// mapped through netlink with a cookie and a reattach timeout, the kernel holds the device and queues its I/O
/// for <see cref="ReattachTimeout"/>, and <c>rbd device attach</c> with the same cookie serves it again.
/// Its map and unmap never wait for udev, and each mapping has its own librbd client, so fencing stays per volume.
/// </summary>
internal sealed class NbdMapper(ICommandRunner runner, CephClientArgs client, IHostProbe host) : RbdDeviceMapper(runner, client, host)
{
    /// <summary>unmap of a device rbd-nbd no longer serves: "rbd-nbd: /dev/nbd0 is not mapped".</summary>
    public const string NotMappedText = "is not mapped";

    /// <summary>unmap of a device node that no longer exists.</summary>
    public const string NoSuchDeviceText = "(2) No such file or directory";

    /// <summary>Use the nbd netlink interface: only it keeps a device whose server died, for a re-attach.</summary>
    public const string NetlinkOption = "try-netlink";

    /// <summary>
    /// How long the kernel keeps a device whose rbd-nbd died, its I/O waiting, for a new rbd-nbd: long enough for a
    /// managed plugin's restart (an upgrade) with room to spare, as ceph-csi's; after it the I/O fails. A Mount or
    /// an Unmount of the volume meanwhile ends the wait at once (<see cref="RbdDeviceMapper.UnmapAsync"/>).
    /// </summary>
    public static readonly TimeSpan ReattachTimeout = TimeSpan.FromSeconds(300);

    private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(30);

    public override string Name => "nbd";

    public override ulong? SupportedFeatures => null;

    public override bool AppliesIoLimits => true;

    /// <summary>How long an abandon waits for the killed rbd-nbd to be gone.</summary>
    public TimeSpan ExitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    protected override string DeviceType => "nbd";

    protected override IReadOnlyList<string> NotMappedTexts { get; } = [NotMappedText, NoSuchDeviceText];

    protected override IReadOnlyList<string> MapOptions() => DeviceOptions;

    // The cookie names the mapping in the kernel (sysfs "backend"), so that a re-attach can tell it is the same.
    protected override IReadOnlyList<string> MapFlags { get; } = ["--show-cookie"];

    private static IReadOnlyList<string> DeviceOptions { get; } =
        [NetlinkOption, $"reattach-timeout={(int)ReattachTimeout.TotalSeconds}"];

    /// <summary>
    /// The kernel still carries this mapping (its sysfs backend is the cookie the map printed) and no rbd-nbd serves
    /// it. A device of another mapping, or of a map made without a cookie (before re-attach existed), never is.
    /// </summary>
    public override bool AwaitsReattach(MappedDevice device)
    {
        if (string.IsNullOrEmpty(device.Detail) || !device.DevicePath.StartsWith("/dev/nbd", StringComparison.Ordinal))
        {
            return false;
        }

        var backend = Host.ReadFile($"/sys/block/{device.DevicePath["/dev/".Length..]}/backend")?.Trim();
        return backend == device.Detail;
    }

    /// <summary>
    /// rbd-nbd 16 cannot resize a device it mapped through netlink: its resize request names no backend, and the
    /// kernel refuses it ("nbd: must specify backend"), so the device keeps its old size. A new rbd-nbd attached to
    /// the device sets the image's current size: detach (the device waits, its I/O queued), then attach with the
    /// cookie. Requests in flight at the detach are sent again when the kernel's request timeout (30 s) runs out.
    /// </summary>
    public override async Task RefreshSizeAsync(MappedDevice device, CancellationToken ct)
    {
        if (!RefreshRenewsClient(device))
        {
            return;
        }

        // rbd device detach -t nbd -c CONF --id ID --keyring KEYRING /dev/nbdN
        await Runner.RunAsync("rbd", ["device", "detach", "-t", DeviceType, .. Client.ToArgs(), device.DevicePath], ct);
        await ReattachAsync(device, ct);
    }

    public override bool RefreshRenewsClient(MappedDevice device) => !string.IsNullOrEmpty(device.Detail);

    /// <summary>
    /// <c>rbd device attach -t nbd --device DEV --cookie COOKIE</c>: a new rbd-nbd opens the image and hands its
    /// socket to the waiting device; the I/O queued meanwhile goes on. Fails (and changes nothing) once the kernel
    /// gave the device up.
    /// </summary>
    public override async Task ReattachAsync(MappedDevice device, CancellationToken ct)
    {
        // rbd device attach -t nbd --device /dev/nbdN --cookie COOKIE -o OPTIONS -c CONF --id ID --keyring KEYRING pool/[ns/]image
        string[] args =
        [
            "device", "attach", "-t", DeviceType, "--device", device.DevicePath, "--cookie", device.Detail ?? "",
            .. Options(DeviceOptions), .. Client.ToArgs(), device.Image.ToString(),
        ];
        await Runner.RunAsync("rbd", args, ct);
    }

    protected override IReadOnlyList<string> UnmapOptions(bool force) => [];

    /// <summary>
    /// Kills the rbd-nbd serving the device (SIGKILL: a fenced client finishes neither a flush nor an exit), then
    /// disconnects the device, which the kernel would otherwise hold for a re-attach with its I/O waiting. The kernel
    /// then fails every pending and later request on the device, so the unmount after it cannot hang.
    /// The list's id of an nbd row is that rbd-nbd's pid.
    /// </summary>
    public override async Task AbandonAsync(MappedDevice device, CancellationToken ct)
    {
        var pids = Matching(await ListAsync(ct, AbandonTimeout), device.Image, device.DevicePath)
            .Select(e => int.TryParse(e.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 1)
            .ToList();
        foreach (var pid in pids)
        {
            // kill -KILL PID
            await Runner.TryRunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)], ct);
        }

        var deadline = DateTime.UtcNow + ExitTimeout;
        while (pids.Any(Host.IsRunning) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }

        if (AwaitsReattach(device))
        {
            await UnmapListedAsync(device, force: false, ct, AbandonTimeout);
        }
    }
}
