using System.Text.RegularExpressions;

namespace RbdPlugin.Volumes;

/// <summary>
/// Validation of the filesystem options a user may pass through Docker. Commands run without a shell, so a second
/// command cannot be smuggled in; what remains dangerous is an option that names a path or another device (ext4
/// <c>-d DIR</c>, <c>-J device=</c>, xfs <c>-l logdev=</c>, mount <c>bind</c> or <c>context=</c>). Hence allow-lists
/// per filesystem, and no '/' anywhere.
/// </summary>
internal static partial class FsOptions
{
    public static readonly IReadOnlyList<string> FsTypes = ["ext4", "xfs"];

    // mkfs flags each filesystem accepts from users; true = the flag takes a value in the next token.
    private static readonly Dictionary<string, Dictionary<string, bool>> MkfsFlags = new(StringComparer.Ordinal)
    {
        ["ext4"] = new(StringComparer.Ordinal)
        {
            ["-b"] = true, ["-C"] = true, ["-e"] = true, ["-E"] = true, ["-g"] = true, ["-G"] = true, ["-i"] = true,
            ["-I"] = true, ["-j"] = false, ["-J"] = true, ["-L"] = true, ["-m"] = true, ["-N"] = true, ["-O"] = true,
            ["-T"] = true, ["-U"] = true,
        },
        ["xfs"] = new(StringComparer.Ordinal)
        {
            ["-b"] = true, ["-d"] = true, ["-i"] = true, ["-l"] = true, ["-L"] = true, ["-m"] = true, ["-n"] = true,
            ["-s"] = true,
        },
    };

    // Sub-options that point at another device or file even without a '/' (e.g. "device=LABEL=x").
    private static readonly string[] ForbiddenMkfsValueParts = ["device=", "logdev=", "rtdev=", "file", "name="];

    private static readonly HashSet<string> CommonMountFlags = new(StringComparer.Ordinal)
    {
        "defaults", "noatime", "atime", "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime",
        "nolazytime", "nodiratime", "diratime", "nodev", "nosuid", "noexec", "sync", "async", "dirsync", "discard",
        "nodiscard", "ro", "rw", "noquota", "quota", "usrquota", "grpquota", "prjquota",
    };

    private static readonly Dictionary<string, HashSet<string>> MountFlags = new(StringComparer.Ordinal)
    {
        ["ext4"] = new(StringComparer.Ordinal)
        {
            "barrier", "nobarrier", "user_xattr", "nouser_xattr", "acl", "noacl", "journal_checksum",
            "journal_async_commit", "delalloc", "nodelalloc", "auto_da_alloc", "noauto_da_alloc", "noinit_itable",
            "dioread_nolock", "dioread_lock", "i_version", "data", "commit", "errors", "stripe", "max_batch_time",
            "min_batch_time", "journal_ioprio", "init_itable",
        },
        ["xfs"] = new(StringComparer.Ordinal)
        {
            "inode32", "inode64", "largeio", "nolargeio", "noalign", "nouuid", "uquota", "uqnoenforce", "qnoenforce",
            "gquota", "gqnoenforce", "pquota", "pqnoenforce", "swalloc", "wsync", "attr2", "noattr2", "ikeep",
            "noikeep", "filestreams", "allocsize", "logbufs", "logbsize", "sunit", "swidth",
        },
    };

    [GeneratedRegex(@"^[A-Za-z0-9_.,=:+^-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeToken();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeMountValue();

    /// <summary>Splits and checks mkfs options; returns the canonical form (tokens joined by one space).</summary>
    public static string ValidateMkfs(string fsType, string text)
    {
        var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var flags = MkfsFlags[fsType];
        for (var i = 0; i < tokens.Length; i++)
        {
            if (!flags.TryGetValue(tokens[i], out var takesValue))
            {
                throw Invalid("mkfs-options", $"'{tokens[i]}' is not an allowed mkfs.{fsType} flag; allowed: {string.Join(' ', flags.Keys)}");
            }

            if (!takesValue)
            {
                continue;
            }

            if (++i == tokens.Length)
            {
                throw Invalid("mkfs-options", $"flag '{tokens[i - 1]}' needs a value");
            }

            var value = tokens[i];
            if (!SafeToken().IsMatch(value) || ForbiddenMkfsValueParts.Any(p => value.Contains(p, StringComparison.OrdinalIgnoreCase)))
            {
                throw Invalid("mkfs-options", $"value '{value}' of '{tokens[i - 1]}' is not allowed: no paths, devices or files, only letters, digits and _.,=:+^-");
            }
        }

        return string.Join(' ', tokens);
    }

    /// <summary>Checks a comma-separated mount option list; returns it canonical (trimmed, no empties).</summary>
    public static string ValidateMount(string fsType, string text)
    {
        var options = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var option in options)
        {
            var eq = option.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? option : option[..eq];
            if (!CommonMountFlags.Contains(key) && !MountFlags[fsType].Contains(key))
            {
                throw Invalid("mount-options", $"'{key}' is not an allowed {fsType} mount option; allowed: {string.Join(',', CommonMountFlags.Concat(MountFlags[fsType]).Order(StringComparer.Ordinal))}");
            }

            if (eq >= 0 && !SafeMountValue().IsMatch(option[(eq + 1)..]))
            {
                throw Invalid("mount-options", $"value of '{key}' may only hold letters, digits, '_' and '-'");
            }
        }

        return string.Join(',', options);
    }

    private static VolumeException Invalid(string option, string why) =>
        new(VolumeErrorKind.InvalidArgument, $"invalid option {option}: {why}");
}
