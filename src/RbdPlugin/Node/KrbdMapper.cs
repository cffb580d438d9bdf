using System.Globalization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// The kernel RBD client (<c>rbd device map -t krbd</c>): the fastest path, for production hosts with the rbd
/// module. It can only open images whose features the kernel supports (<see cref="SupportedFeatures"/>).
/// Every image is mapped with <c>noshare</c>: by default all images a host maps share one kernel Ceph client, and
/// fencing one volume (blocklisting its writer, invariant 1) would then fail the I/O of every volume on the host.
/// With a client per mapping, blocklisting one device's client (<c>/sys/bus/rbd/devices/N/client_addr</c>) fails
/// that device only. <c>noudev</c> is passed exactly when no udev runs (<see cref="Udev"/>).
/// </summary>
internal sealed class KrbdMapper(ICommandRunner runner, CephClientArgs client, IHostProbe host)
    : RbdDeviceMapper(runner, client, host)
{
    /// <summary>A mapping with its own kernel Ceph client, so that it can be fenced alone.</summary>
    public const string NoShareOption = "noshare";

    /// <summary>Map and unmap without waiting for udev's event (which never comes where no udev runs).</summary>
    public const string NoUdevOption = "noudev";

    /// <summary>Unmap even while the device is open: fails its pending and later I/O (a lost device).</summary>
    public const string ForceOption = "force";

    /// <summary>unmap of a device node that is gone or belongs to nothing: "rbd: '/dev/rbd0' is not a block device".</summary>
    public const string NotABlockDeviceText = "is not a block device";

    /// <summary>Bound of the forced unmap of a lost device: a fenced client fails its requests at once.</summary>
    private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(30);

    public const string SupportedFeaturesPath = "/sys/bus/rbd/supported_features";

    /// <summary>unmap by image spec of an image that is not mapped: "rbd: POOL/IMAGE: not a mapped image or snapshot".</summary>
    public const string NotMappedImageText = "not a mapped image or snapshot";

    /// <summary>unmap of a device node that no longer exists: "rbd: unmap failed: (2) No such file or directory".</summary>
    public const string NoSuchDeviceText = "(2) No such file or directory";

    private readonly Lazy<ulong?> _features = new(() => ParseSupportedFeatures(host.ReadFile(SupportedFeaturesPath)));

    public override string Name => "krbd";

    public override ulong? SupportedFeatures => _features.Value;

    // The kernel client has no QoS of its own and does not read librbd's settings.
    public override bool AppliesIoLimits => false;

    protected override string DeviceType => "krbd";

    protected override IReadOnlyList<string> NotMappedTexts { get; } = [NotMappedImageText, NoSuchDeviceText, NotABlockDeviceText];

    protected override IReadOnlyList<string> MapOptions() =>
        Udev.IsRunning(Host) ? [NoShareOption] : [NoShareOption, NoUdevOption];

    protected override IReadOnlyList<string> UnmapOptions(bool force) =>
        [.. Udev.IsRunning(Host) ? [] : new[] { NoUdevOption }, .. force ? new[] { ForceOption } : []];

    /// <summary>
    /// <c>rbd device unmap -o force</c>: the kernel tears the device down even while a filesystem sits on it; every
    /// pending and later request on it fails, so the unmount after it cannot hang on a dead device, and nothing
    /// this host still had queued reaches the image. (A blocklisted krbd client already fails its I/O at once.)
    /// </summary>
    public override async Task AbandonAsync(MappedDevice device, CancellationToken ct)
    {
        if (Matching(await ListAsync(ct, AbandonTimeout), device.Image, device.DevicePath).Count > 0)
        {
            await UnmapListedAsync(device, force: true, ct, AbandonTimeout);
        }
    }

    /// <summary>
    /// The kernel writes the mask as hex ("0x3d\n"). Kernels before 4.11 have no such file; everything they can
    /// map has layering at most, so that is what we assume rather than promising features they may lack.
    /// </summary>
    public static ulong ParseSupportedFeatures(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return RbdFeatures.Layering;
        }
        var hex = text.Trim();
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            hex = hex[2..];
        }
        return ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var mask)
            ? mask
            : throw new FormatException($"{SupportedFeaturesPath}: not a hex feature mask: '{text.Trim()}'");
    }
}
