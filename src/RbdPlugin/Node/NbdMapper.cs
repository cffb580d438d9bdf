namespace RbdPlugin.Node;

/// <summary>
/// rbd-nbd (<c>rbd device map -t nbd</c>): librbd in a userspace daemon behind /dev/nbdN. Slower than krbd but
/// opens every image feature, so <see cref="SupportedFeatures"/> is null. The rbd-nbd daemon serves I/O for as
/// long as the mapping lives: a service manager must not kill it with the plugin (systemd: KillMode=process).
/// </summary>
internal sealed class NbdMapper(ICommandRunner runner, CephClientArgs client) : RbdDeviceMapper(runner, client)
{
    /// <summary>unmap of a device rbd-nbd no longer serves: "rbd-nbd: /dev/nbd0 is not mapped".</summary>
    public const string NotMappedText = "is not mapped";

    /// <summary>unmap of a device node that no longer exists.</summary>
    public const string NoSuchDeviceText = "(2) No such file or directory";

    public override string Name => "nbd";

    public override ulong? SupportedFeatures => null;

    protected override string DeviceType => "nbd";

    protected override IReadOnlyList<string> NotMappedTexts { get; } = [NotMappedText, NoSuchDeviceText];
}
