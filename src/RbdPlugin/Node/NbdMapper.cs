using System.Globalization;

namespace RbdPlugin.Node;

/// <summary>
/// rbd-nbd (<c>rbd device map -t nbd</c>): librbd in a userspace daemon behind /dev/nbdN. Slower than krbd but
/// opens every image feature, so <see cref="SupportedFeatures"/> is null. The rbd-nbd daemon serves I/O for as
/// long as the mapping lives: a service manager must not kill it with the plugin (systemd: KillMode=process).
/// Its map and unmap never wait for udev, and each mapping has its own librbd client, so fencing stays per volume.
/// </summary>
internal sealed class NbdMapper(ICommandRunner runner, CephClientArgs client, IHostProbe host) : RbdDeviceMapper(runner, client, host)
{
    /// <summary>unmap of a device rbd-nbd no longer serves: "rbd-nbd: /dev/nbd0 is not mapped".</summary>
    public const string NotMappedText = "is not mapped";

    /// <summary>unmap of a device node that no longer exists.</summary>
    public const string NoSuchDeviceText = "(2) No such file or directory";

    private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(30);

    public override string Name => "nbd";

    public override ulong? SupportedFeatures => null;

    public override bool AppliesIoLimits => true;

    /// <summary>How long an abandon waits for the killed rbd-nbd to be gone.</summary>
    public TimeSpan ExitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    protected override string DeviceType => "nbd";

    protected override IReadOnlyList<string> NotMappedTexts { get; } = [NotMappedText, NoSuchDeviceText];

    protected override IReadOnlyList<string> MapOptions() => [];

    protected override IReadOnlyList<string> UnmapOptions(bool force) => [];

    /// <summary>
    /// Kills the rbd-nbd serving the device (SIGKILL: a fenced client finishes neither a flush nor an exit). The
    /// kernel then fails every pending and later request on the device, so the unmount after it cannot hang.
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
    }
}
