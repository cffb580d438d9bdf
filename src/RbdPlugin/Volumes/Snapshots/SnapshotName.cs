namespace RbdPlugin.Volumes;

/// <summary>
/// Snapshot names as users type them in <c>SOURCE@SNAP</c> and on the command line: a letter or digit, then letters,
/// digits, '_', '.', '-' (no '@', '/' or whitespace, so <c>SOURCE@SNAP</c> always splits one way), at most 100.
/// </summary>
internal static class SnapshotName
{
    public const int MaxLength = 100;

    /// <summary>The volume-name rule (<see cref="VolumeName"/>), shorter.</summary>
    public static bool IsValid(string? name) => name is { Length: <= MaxLength } && VolumeName.IsValid(name);

    /// <summary>Throws InvalidArgument with the rule when the name is unusable.</summary>
    public static void Validate(string? name)
    {
        if (!IsValid(name))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"invalid snapshot name '{name}': use 1-{MaxLength} characters, letters, digits, '_', '.', '-', starting with a letter or digit");
        }
    }

    /// <summary>Splits <c>VOLUME@SNAPSHOT</c>, both parts validated; <paramref name="what"/> names the input in the error.</summary>
    public static (string Volume, string Snapshot) ParseSpec(string? spec, string what)
    {
        var parts = (spec ?? "").Split('@');
        if (parts.Length != 2 || !VolumeName.IsValid(parts[0]) || !IsValid(parts[1]))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"invalid {what} '{spec}': give VOLUME@SNAPSHOT, e.g. db1@nightly (`rbd-plugin snapshot ls VOLUME` lists them)");
        }

        return (parts[0], parts[1]);
    }
}
