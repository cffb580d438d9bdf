using System.Globalization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// The kernel RBD client (<c>rbd device map -t krbd</c>): the fastest path, for production hosts with the rbd
/// module. It can only open images whose features the kernel supports (<see cref="SupportedFeatures"/>).
/// </summary>
internal sealed class KrbdMapper(ICommandRunner runner, CephClientArgs client, IHostProbe host)
    : RbdDeviceMapper(runner, client)
{
    public const string SupportedFeaturesPath = "/sys/bus/rbd/supported_features";

    /// <summary>unmap by image spec of an image that is not mapped: "rbd: POOL/IMAGE: not a mapped image or snapshot".</summary>
    public const string NotMappedImageText = "not a mapped image or snapshot";

    /// <summary>unmap of a device node that no longer exists: "rbd: unmap failed: (2) No such file or directory".</summary>
    public const string NoSuchDeviceText = "(2) No such file or directory";

    private readonly Lazy<ulong?> _features = new(() => ParseSupportedFeatures(host.ReadFile(SupportedFeaturesPath)));

    public override string Name => "krbd";

    public override ulong? SupportedFeatures => _features.Value;

    protected override string DeviceType => "krbd";

    protected override IReadOnlyList<string> NotMappedTexts { get; } = [NotMappedImageText, NoSuchDeviceText];

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
