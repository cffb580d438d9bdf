namespace RbdPlugin.Operations;

// The JSON `rbd-plugin trash ...` prints with --json: camelCase, every field always present (null when unknown).
// docs/runbook.md documents them and CliJsonSchemaTests pin them.

/// <summary>One row of <c>trash ls</c>: a volume Remove moved to Ceph's trash.</summary>
/// <param name="ImageId">The image's id in the trash: what <c>trash restore</c>/<c>purge</c> accept besides the name.</param>
/// <param name="SizeBytes">The image's size; null when it could not be read.</param>
/// <param name="ExpiresAt">When the daemon purges it (TrashExpiry after the removal).</param>
internal sealed record TrashListItem(string Name, string ImageId, string Pool, ulong? SizeBytes, string? Size, DateTimeOffset RemovedAt, DateTimeOffset ExpiresAt);

/// <summary><c>trash restore</c>: <see cref="RestoredAs"/> is the volume's name now (<c>--as</c>, else its old name).</summary>
internal sealed record TrashRestoreResult(string Name, string ImageId, string RestoredAs, string Image);

/// <summary>One entry <c>trash purge</c> deleted for good.</summary>
internal sealed record TrashPurgedItem(string Name, string ImageId, string Pool);
