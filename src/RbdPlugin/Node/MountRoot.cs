using System.Runtime.Versioning;

namespace RbdPlugin.Node;

/// <summary>
/// Who may look at the volumes mounted here: root only. MountRoot is 0700 and each volume's mountpoint directory
/// 0700, both made with that mode (never a moment wider). A mounted filesystem's root keeps its own mode (0755 after
/// mkfs), so MountRoot is the barrier: 0711 would still let any local user who knows a volume's name read it, which
/// is why this is 0700 where Docker keeps /var/lib/docker at 0710 (group root: the same for other users). Docker
/// bind-mounts MountRoot/NAME into containers as root, unaffected; a container sees only the volume's own root.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static partial class MountRoot
{
    /// <summary>rwx for root, nothing for anyone else.</summary>
    public const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Makes the state dir root only, like MountRoot: it holds the journal, the lease token and rbd-fuse's
    /// view of every mapped image.</summary>
    public static void PrepareStateDir(string stateDir)
    {
        Directory.CreateDirectory(stateDir, PrivateMode);
        File.SetUnixFileMode(stateDir, PrivateMode);
    }

    /// <summary>
    /// At start: makes MountRoot 0700 (missing parents get the default mode), tightens it and every mountpoint directory under it that
    /// nothing is mounted on, and logs each change. A directory something is mounted on is left alone: a chmod would
    /// change the mode of the mounted filesystem's root, the volume's own data; MountRoot hides it anyway.
    /// </summary>
    /// <returns>The paths whose mode was tightened.</returns>
    public static IReadOnlyList<string> Prepare(string root, IMountTable mounts, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        ArgumentNullException.ThrowIfNull(logger);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        Directory.CreateDirectory(full, PrivateMode);
        var mounted = mounts.Read().Select(m => m.MountPoint).ToHashSet(StringComparer.Ordinal);
        var tightened = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories(full).Where(d => !mounted.Contains(d)).Prepend(full))
        {
            if (Tighten(directory) is { } before)
            {
                LogTightened(logger, directory, ModeText(before));
                tightened.Add(directory);
            }
        }

        return tightened;
    }

    /// <summary>Makes one directory 0700 when it allows more; its mode before, or null when it was private already.
    /// Not for a directory something is mounted on (see <see cref="Prepare"/>).</summary>
    public static UnixFileMode? Tighten(string directory)
    {
        var mode = File.GetUnixFileMode(directory);
        if ((mode & ~PrivateMode & (UnixFileMode)0x1FF) == 0)
        {
            return null;
        }

        File.SetUnixFileMode(directory, mode & PrivateMode);
        return mode;
    }

    private static string ModeText(UnixFileMode mode) => Convert.ToString((int)mode & 0xFFF, 8).PadLeft(4, '0');

    [LoggerMessage(Level = LogLevel.Warning, Message = "Made {Directory} root-only (0700; it was {Before}): other local users could read the volumes mounted under it")]
    private static partial void LogTightened(ILogger logger, string directory, string before);
}
