namespace RbdPlugin.Volumes;

/// <summary>
/// A volume to be made from a snapshot (<c>-o from-snapshot=SOURCE@SNAP</c>): everything else comes from the source
/// volume. Null fields take the source's value (the snapshot's size for <see cref="SizeBytes"/>).
/// </summary>
/// <param name="LimitOptions">The I/O limit options given with the clone (checked); each replaces the source's limit of
/// its name, 0 removing it.</param>
internal sealed record CloneRequest(string Source, string Snapshot, string? Pool, ulong? SizeBytes, string? FsType, string? MountOptions,
    IReadOnlyDictionary<string, string> LimitOptions)
{
    /// <summary>"SOURCE@SNAP", as recorded in the clone's <see cref="VolumeSpec.FromSnapshot"/>.</summary>
    public string Spec => $"{Source}@{Snapshot}";
}
