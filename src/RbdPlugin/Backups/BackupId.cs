using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace RbdPlugin.Backups;

/// <summary>
/// A backup's id: its UTC creation second and 6 random hex digits ("20260102T030405Z-1a2b3c"), so ids sort by time
/// for a reader and never collide. It names the backup's files and, with <see cref="SnapshotPrefix"/>, the snapshot
/// kept on the image for the next incremental. Only ids of this shape are ever turned into paths.
/// </summary>
internal static partial class BackupId
{
    /// <summary>Prefix of the snapshots backups keep on images: recognisable in <c>rbd snap ls</c>.</summary>
    public const string SnapshotPrefix = "rbd-plugin-backup-";

    [GeneratedRegex(@"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static string New(DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" +
        Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    public static string Snapshot(string id) => SnapshotPrefix + id;
}
