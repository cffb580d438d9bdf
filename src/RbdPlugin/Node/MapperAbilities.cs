namespace RbdPlugin.Node;

/// <summary>
/// What a create must stay within so that the host's mapper can serve the volume it makes: the image features it
/// can open (krbd: the kernel's list; null = any) and whether it applies librbd's I/O limits (the kernel client does
/// not) and whether it gives a block device dm-crypt can open (krbd and rbd-nbd; not the fuse mapper). The daemon
/// asks its active mapper; a runbook create asks what the host's daemon would choose.
/// </summary>
internal sealed record MapperAbilities(string Mapper, ulong? Features, bool IoLimits, bool Encryption = true)
{
    /// <summary>No constraint: what rbd-nbd can do, and the check of records read back.</summary>
    public static readonly MapperAbilities Any = new("any", null, true);

    public static MapperAbilities Of(IBlockMapper mapper)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        return new(mapper.Name, mapper.SupportedFeatures, mapper.AppliesIoLimits, mapper.OpensEncrypted);
    }
}
