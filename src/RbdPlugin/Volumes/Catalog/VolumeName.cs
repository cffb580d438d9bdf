using System.Text.RegularExpressions;

namespace RbdPlugin.Volumes;

/// <summary>
/// Volume names double as RBD image names and as the last component of the mountpoint, so they must be safe in
/// both: Docker's own rule for named volumes (a letter or digit, then letters, digits, '_', '.', '-'), at most
/// 128 characters. That excludes '/', '@' and whitespace, and so any way to escape the mount root.
/// </summary>
internal static partial class VolumeName
{
    public const int MaxLength = 128;

    // \z, not $: in .NET "$" also matches before a final "\n", which would let "db1\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    /// <summary>Throws InvalidArgument with the rule when the name is unusable.</summary>
    public static void Validate(string? name)
    {
        if (!IsValid(name))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"invalid volume name '{name}': use 1-{MaxLength} characters, letters, digits, '_', '.', '-', starting with a letter or digit");
        }
    }
}
