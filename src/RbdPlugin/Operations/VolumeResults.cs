namespace RbdPlugin.Operations;

// What the volume commands report; the CLI prints them (Cli/CliJson.cs).

/// <summary>One row of <c>volume ls</c>.</summary>
/// <param name="UsedBytes">Bytes allocated in the image (whole objects, from the fast-diff object map, as `rbd du`); null when the image has no valid fast-diff map.</param>
/// <param name="Owner">Host holding (lease "held") or last holding (lease "expired") the volume's lease; null when none.</param>
/// <param name="Lease">"held", "expired" or "none".</param>
/// <param name="MountedWhere">"HOST:MOUNTPOINT" while a host holds the lease (mounted, or within its unmount grace); else null.</param>
/// <param name="Limits">The I/O limits in force by option name (IOPS, bytes per second); empty when none.</param>
/// <param name="Encrypted">LUKS2 under its filesystem (<c>-o encrypted=true</c>).</param>
internal sealed record VolumeListItem(string Name, string Pool, ulong SizeBytes, string Size, ulong? UsedBytes, string? Used, string Fstype,
    string? Owner, string Lease, string? MountedWhere, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, ulong> Limits, bool Encrypted);

/// <summary><c>volume inspect</c>: the daemon's Status object (lease and owner included) plus the image's watchers.</summary>
internal sealed record VolumeInspectResult(string Name, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, object> Status, IReadOnlyList<string> Watchers);

/// <summary><c>volume create</c>.</summary>
internal sealed record VolumeCreateResult(string Name, string Image, ulong SizeBytes, string Fstype);

/// <summary><c>volume rm</c>: <see cref="Removed"/> is false when it was already gone; <see cref="Action"/> is trash, delete or keep.</summary>
internal sealed record VolumeRemoveResult(string Name, bool Removed, string Action);

/// <summary><c>volume takeover</c>.</summary>
internal sealed record VolumeTakeoverResult(string Name, string? PreviousOwner, bool BrokeLiveLease, IReadOnlyList<string> Fenced);
