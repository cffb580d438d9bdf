namespace RbdPlugin.Operations;

// What clone, flatten and resize report: the runbook CLI prints them as JSON (docs/runbook.md).

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

/// <summary>
/// A volume's I/O limits (<c>volume limit</c>), by option name: IOPS, or bytes per second; a limit not listed is not
/// set. <see cref="MountedOn"/>: the host holding the volume's lease, where librbd applies new limits at once.
/// </summary>
internal sealed record VolumeLimited(string Name, IReadOnlyDictionary<string, ulong> Before, IReadOnlyDictionary<string, ulong> Limits,
    bool Changed, string? MountedOn);
