using System.Security.Cryptography;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>A backup's state: complete (restorable, with its whole chain), corrupt (wrong data) or incomplete (missing data or a broken chain).</summary>
internal static class BackupStatus
{
    public const string Complete = "complete";
    public const string Corrupt = "corrupt";
    public const string Incomplete = "incomplete";
}

/// <summary>A backup with its verdict; <see cref="Problem"/> says what is wrong (null when complete).</summary>
internal sealed record VerifiedBackup(StoredBackup Backup, string Status, string? Problem)
{
    public bool IsComplete => Status == BackupStatus.Complete;
}

/// <summary>
/// Decides whether backups can be restored, without touching Ceph. A backup's own files must have the manifest's
/// lengths (shorter = incomplete, longer = corrupt), their diff headers must name the parent's snapshot and its own
/// (so files cannot be swapped between backups or chains), and with checksums their SHA-256 must match. Then the
/// chain: a backup is complete only when every ancestor up to its full backup is complete and strictly older.
/// </summary>
internal static class BackupVerifier
{
    public static async Task<IReadOnlyList<VerifiedBackup>> VerifyAsync(IReadOnlyList<StoredBackup> backups, bool checksums, CancellationToken ct)
    {
        var byId = backups.ToDictionary(b => b.Id, StringComparer.Ordinal);
        var own = new Dictionary<string, (string Status, string? Problem)>(StringComparer.Ordinal);
        foreach (var backup in backups)
        {
            own[backup.Id] = await CheckOwnFilesAsync(backup, checksums, ct);
        }

        var verdicts = new Dictionary<string, VerifiedBackup>(StringComparer.Ordinal);
        VerifiedBackup Resolve(StoredBackup backup)
        {
            if (verdicts.TryGetValue(backup.Id, out var known))
            {
                return known;
            }

            var (status, problem) = own[backup.Id];
            if (status == BackupStatus.Complete && backup.Manifest?.ParentId is { } parentId)
            {
                (status, problem) = !byId.TryGetValue(parentId, out var parent)
                    ? (BackupStatus.Incomplete, $"its parent {parentId} is missing (no {parentId}{BackupDirectory.ManifestSuffix} here)")
                    : parent.Manifest is { } p && p.CreatedAt >= backup.Manifest.CreatedAt
                        ? (BackupStatus.Corrupt, $"its parent {parentId} is not older than itself: the manifests were edited")
                        : Resolve(parent) is { IsComplete: false } broken
                            ? (BackupStatus.Incomplete, $"its parent {parentId} is {broken.Status}: {broken.Problem}")
                            : (status, problem);
            }

            return verdicts[backup.Id] = new VerifiedBackup(backup, status, problem);
        }

        return [.. backups.Select(Resolve)];
    }

    /// <summary>
    /// The chain that restores <paramref name="id"/>: its full backup first, then each increment up to it. Stops at
    /// a missing parent (the verifier then reports it).
    /// </summary>
    public static IReadOnlyList<StoredBackup> ChainTo(IReadOnlyList<StoredBackup> backups, string id)
    {
        var byId = backups.ToDictionary(b => b.Id, StringComparer.Ordinal);
        var chain = new List<StoredBackup>();
        for (var at = byId.GetValueOrDefault(id); at is not null && chain.Count <= byId.Count; at = at.Manifest?.ParentId is { } p ? byId.GetValueOrDefault(p) : null)
        {
            chain.Add(at);
        }

        chain.Reverse();
        return chain;
    }

    private static async Task<(string Status, string? Problem)> CheckOwnFilesAsync(StoredBackup backup, bool checksums, CancellationToken ct)
    {
        if (backup.Manifest is not { } manifest)
        {
            return (backup.Interrupted || backup.ManifestMissing ? BackupStatus.Incomplete : BackupStatus.Corrupt, backup.Problem);
        }

        // The snapshot a manifest names is removed from the image once a newer backup holds (BackupCreator): it must
        // be the plugin's own snapshot of this very backup, never one a hand-edited manifest points at ("golden").
        if (manifest.Snapshot != BackupId.Snapshot(manifest.Id))
        {
            return (BackupStatus.Corrupt,
                $"its manifest names the snapshot {StoredRecord.Quote(manifest.Snapshot)}, not {BackupId.Snapshot(manifest.Id)}, the one a backup of this id ends at: the manifest was edited");
        }

        if (manifest.ParentId is { } parentId && !BackupId.IsValid(parentId))
        {
            return (BackupStatus.Corrupt, $"its manifest names the parent {StoredRecord.Quote(parentId)}, which is not a backup id: the manifest was edited");
        }

        if (manifest.Files.Count == 0)
        {
            return (BackupStatus.Corrupt, "its manifest lists no data files");
        }

        foreach (var file in manifest.Files)
        {
            if (Path.GetFileName(file.Name) != file.Name || file.Name.StartsWith('.'))
            {
                return (BackupStatus.Corrupt, $"its manifest names '{file.Name}', which is not a plain file name in its directory");
            }

            var info = new FileInfo(backup.PathOf(file.Name));
            if (!info.Exists)
            {
                return (BackupStatus.Incomplete, $"data file {file.Name} is missing");
            }

            if (info.Length != file.Bytes)
            {
                return info.Length < file.Bytes
                    ? (BackupStatus.Incomplete, $"data file {file.Name} is truncated: {info.Length} of {file.Bytes} bytes")
                    : (BackupStatus.Corrupt, $"data file {file.Name} has {info.Length} bytes, its manifest says {file.Bytes}");
            }
        }

        if (HeaderProblem(backup, manifest) is { } headerProblem)
        {
            return (BackupStatus.Corrupt, headerProblem);
        }

        if (checksums)
        {
            foreach (var file in manifest.Files)
            {
                if (!string.Equals(await Sha256Async(backup.PathOf(file.Name), ct), file.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    return (BackupStatus.Corrupt,
                        $"data file {file.Name} does not match its SHA-256 in the manifest: it changed after the backup (disk error, bad copy or tampering)");
                }
            }
        }

        return (BackupStatus.Complete, null);
    }

    /// <summary>The diff must start at the parent's snapshot (none for a full backup), end at this backup's and carry its image size.</summary>
    private static string? HeaderProblem(StoredBackup backup, BackupManifest manifest)
    {
        RbdDiffHeader first, last;
        try
        {
            first = RbdDiffHeader.Read(backup.PathOf(manifest.Files[0].Name));
            last = manifest.Files.Count == 1 ? first : RbdDiffHeader.Read(backup.PathOf(manifest.Files[^1].Name));
        }
        catch (FormatException e)
        {
            return $"data file {manifest.Files[0].Name} is damaged: {e.Message}";
        }

        var expectedFrom = manifest.ParentId is { } p ? BackupId.Snapshot(p) : null;
        return first.FromSnapshot != expectedFrom
            ? $"its data starts at snapshot {first.FromSnapshot ?? "(none: a full backup)"}, its manifest says {expectedFrom ?? "(none: a full backup)"}: the file belongs to another backup"
            : last.ToSnapshot != manifest.Snapshot
                ? $"its data ends at snapshot {last.ToSnapshot}, its manifest says {manifest.Snapshot}: the file belongs to another backup"
                : last.SizeBytes != manifest.ImageSizeBytes
                    ? $"its data is of a {last.SizeBytes}-byte image, its manifest says {manifest.ImageSizeBytes}"
                    : null;
    }

    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }
}
