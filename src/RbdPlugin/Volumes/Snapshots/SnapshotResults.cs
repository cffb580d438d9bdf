namespace RbdPlugin.Volumes;

// What the snapshot verbs and the online grow report: the runbook CLI prints them as JSON (docs/runbook.md), and
// the admin socket carries them from the daemon that has the volume mounted.

/// <summary>A snapshot taken (or found already there: <see cref="Created"/> false).</summary>
/// <param name="Frozen">True when the filesystem was frozen around it (mounted on <see cref="Host"/>).</param>
/// <param name="FreezeMs">How long writes were held, when frozen.</param>
internal sealed record SnapshotTaken(string Name, string Snapshot, bool Created, bool Frozen, string? Host, long? FreezeMs, DateTimeOffset CreatedAt);

/// <summary>One snapshot of a volume.</summary>
internal sealed record SnapshotListItem(string Name, ulong Id, ulong SizeBytes, string Size, DateTimeOffset CreatedAt);

/// <summary>A snapshot removed (<see cref="Removed"/> false when it was already gone).</summary>
internal sealed record SnapshotRemoved(string Name, string Snapshot, bool Removed);

/// <summary>A volume rolled back to a snapshot; <see cref="SizeBytes"/> is the size it has now (the snapshot's).</summary>
internal sealed record SnapshotRolledBack(string Name, string Snapshot, ulong SizeBytes);

/// <summary>The daemon's answer to "grow the filesystem of this volume": whether it is mounted here, and the sizes.</summary>
internal sealed record FilesystemGrowth(string Name, bool Mounted, ulong? FilesystemBytesBefore, ulong? FilesystemBytes);
