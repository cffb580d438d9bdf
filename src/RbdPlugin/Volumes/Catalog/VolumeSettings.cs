namespace RbdPlugin.Volumes;

/// <summary>What Remove does with the image.</summary>
internal enum RemoveAction
{
    /// <summary>Move to Ceph's trash with an expiry; the daemon purges it once expired.</summary>
    Trash,
    /// <summary>Delete the image at once.</summary>
    Delete,
    /// <summary>Forget the volume, keep the image.</summary>
    Keep,
}

/// <summary>The resolved, validated settings the volume domain runs with (built from PluginOptions at start).</summary>
internal sealed record VolumeSettings
{
    public required string Pool { get; init; }
    public string Namespace { get; init; } = "";
    /// <summary>Every pool a volume may live in, the default pool first.</summary>
    public required IReadOnlyList<string> AllowedPools { get; init; }
    public ulong DefaultSizeBytes { get; init; } = 10UL << 30;
    public ulong MaxSizeBytes { get; init; } = 64UL << 40;
    public string DefaultFsType { get; init; } = "ext4";
    public required string MountRoot { get; init; }
    public required string StateDir { get; init; }
    public RemoveAction RemoveAction { get; init; } = RemoveAction.Trash;
    public TimeSpan TrashExpiry { get; init; } = TimeSpan.FromDays(7);
    public TimeSpan UnmountGrace { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a volume with references may go without any container mounting it before it is released
    /// as if unmounted (<see cref="UnusedMountReaper"/>); zero: never.</summary>
    public TimeSpan UnusedMountTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public required string HostId { get; init; }
    /// <summary>How long a volume's ownership lease lives without renewal: the bound on a takeover after a crash.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a fenced client stays blocklisted; zero: until an operator unfences its host
    /// (<see cref="LeaseFencer.UntilUnfenced"/>).</summary>
    public TimeSpan FenceExpiry { get; init; }

    /// <summary>How long a Mount waits for another host to release the lease before it fails naming the owner.</summary>
    public TimeSpan LeaseWait { get; init; } = TimeSpan.FromSeconds(7);

    /// <summary>The root-only file holding the key-encryption key that wraps encrypted volumes' passphrases; null:
    /// none on this host (encrypted volumes can be listed, inspected and removed here, not created or mounted).</summary>
    public string? EncryptionKeyFile { get; init; }
}
