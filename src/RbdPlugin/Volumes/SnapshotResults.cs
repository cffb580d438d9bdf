namespace RbdPlugin.Volumes;

// What the snapshot, clone and resize operations report: the runbook CLI prints them as JSON (README "Runbook CLI"),
// and the admin socket carries the two a daemon does (snapshot of a mounted volume, growing its filesystem).

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

/// <summary>A volume made from a snapshot.</summary>
internal sealed record VolumeCloned(string Name, string Source, string Snapshot, string Image, ulong SizeBytes, string Fstype);

/// <summary>A clone made independent of its snapshot (<see cref="Flattened"/> false: it was not a clone, or was
/// flattened already). <see cref="From"/> is the snapshot it was made from, as recorded at its creation.</summary>
internal sealed record VolumeFlattened(string Name, bool Flattened, string? From);

/// <summary>
/// A volume resized. <see cref="Filesystem"/>: "grown" (grown online now, on this host), "at-next-mount" (not
/// mounted here: it grows when it is next mounted, or run resize again on <see cref="Host"/>, which has it mounted).
/// </summary>
internal sealed record VolumeResized(string Name, ulong PreviousSizeBytes, ulong SizeBytes, string Filesystem, string? Host, ulong? FilesystemBytes);

/// <summary>The daemon's answer to "grow the filesystem of this volume": whether it is mounted here, and the sizes.</summary>
internal sealed record FilesystemGrowth(string Name, bool Mounted, ulong? FilesystemBytesBefore, ulong? FilesystemBytes);

/// <summary>Admin request bodies.</summary>
internal sealed record SnapshotRequest(string Snapshot);

internal sealed record GrowRequest(string Name);
