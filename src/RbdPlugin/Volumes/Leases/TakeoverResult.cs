namespace RbdPlugin.Volumes;

/// <summary>What <see cref="LeaseFencer.TakeOverAsync"/> did.</summary>
/// <param name="PreviousOwner">The host that held or last held the lease; null when it had none.</param>
/// <param name="BrokeLiveLease">True when a live lease was broken (--force).</param>
/// <param name="Fenced">Client addresses blocklisted: the owner's daemon and every watcher of the image.</param>
internal sealed record TakeoverResult(string Volume, string? PreviousOwner, bool BrokeLiveLease, IReadOnlyList<string> Fenced);
