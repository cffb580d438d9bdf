namespace RbdPlugin.Volumes;

/// <summary>
/// A volume to be made from a snapshot (<c>-o from-snapshot=SOURCE@SNAP</c>): everything else comes from the source
/// volume. Null fields take the source's value (the snapshot's size for <see cref="SizeBytes"/>).
/// </summary>
internal sealed record CloneRequest(string Source, string Snapshot, string? Pool, ulong? SizeBytes, string? FsType, string? MountOptions)
{
    /// <summary>"SOURCE@SNAP", as recorded in the clone's <see cref="VolumeSpec.FromSnapshot"/>.</summary>
    public string Spec => $"{Source}@{Snapshot}";
}
