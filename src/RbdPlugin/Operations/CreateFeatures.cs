namespace RbdPlugin.Operations;

/// <summary>
/// The image features a runbook <c>volume create</c> must stay within so this host's daemon can map the volume:
/// the kernel's list when krbd may be chosen and its module is loaded, otherwise any (null: nbd and fuse open
/// every feature). The daemon itself asks its active mapper.
/// </summary>
internal sealed record CreateFeatures(ulong? Supported);
