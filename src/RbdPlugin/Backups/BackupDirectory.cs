using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>
/// The layout of a backup directory: one subdirectory per volume (mode 0700: it holds the volume's data), and in
/// it, per backup, the data <c>ID.rbddiff</c> (an <c>rbd export-diff</c> stream) and the manifest <c>ID.json</c>,
/// written last. Files ending in <c>.tmp</c> are a backup being written or an interrupted one; <c>.lock</c> keeps
/// two backups of one volume into one directory from running at once.
/// </summary>
internal sealed class BackupDirectory
{
    public const string ManifestSuffix = ".json";
    public const string DataSuffix = ".rbddiff";
    public const string TempSuffix = ".tmp";
    private const string LockFileName = ".lock";

    private BackupDirectory(string root) => Root = root;

    public string Root { get; }

    /// <summary>An existing directory. It is never created: a mistyped path or an unmounted backup disk must not silently fill the root filesystem.</summary>
    public static BackupDirectory Open(string path)
    {
        var full = Path.GetFullPath(path);
        return Directory.Exists(full)
            ? new BackupDirectory(full)
            : throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"backup directory {full} does not exist; create it (mkdir -p) or mount the backup disk there first");
    }

    public string VolumeDirectory(string volume) => Path.Combine(Root, volume);

    /// <summary>The volumes that have a backup subdirectory here.</summary>
    public IReadOnlyList<string> Volumes() =>
        [.. Directory.EnumerateDirectories(Root).Select(d => Path.GetFileName(d)).Where(VolumeName.IsValid).Order(StringComparer.Ordinal)];

    /// <summary>Every backup of <paramref name="volume"/> here, readable or not, and the leftovers of interrupted runs.</summary>
    public IReadOnlyList<StoredBackup> Read(string volume)
    {
        var dir = VolumeDirectory(volume);
        if (!Directory.Exists(dir))
        {
            return [];
        }

        var backups = new List<StoredBackup>();
        foreach (var path in Directory.EnumerateFiles(dir, "*" + ManifestSuffix))
        {
            var id = Path.GetFileName(path)[..^ManifestSuffix.Length];
            if (BackupId.IsValid(id))
            {
                backups.Add(ReadManifest(volume, id, dir, path));
            }
        }

        // Files of an id without a manifest: temp files only = a run that died before sealing its data (the next run
        // removes them); a sealed data file = a manifest lost or deleted afterwards (kept: it may be put back).
        var orphans = Directory.EnumerateFiles(dir).Select(p => Path.GetFileName(p)).GroupBy(f => f.Split('.')[0])
            .Where(g => BackupId.IsValid(g.Key) && backups.All(b => b.Id != g.Key)).OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var files in orphans)
        {
            backups.Add(files.All(f => f.EndsWith(TempSuffix, StringComparison.Ordinal))
                ? new StoredBackup(volume, files.Key, dir, null,
                    "interrupted: only temp files, no manifest; the next `backup create` of this volume into this directory removes them", Interrupted: true)
                : new StoredBackup(volume, files.Key, dir, null,
                    $"its manifest {files.Key}{ManifestSuffix} is missing (only {string.Join(", ", files.Order(StringComparer.Ordinal))} remain); put it back, or delete those files if that backup is not needed",
                    ManifestMissing: true));
        }

        return backups;
    }

    private static StoredBackup ReadManifest(string volume, string id, string dir, string path)
    {
        try
        {
            var manifest = BackupManifest.Parse(File.ReadAllBytes(path));
            return manifest.Id == id && manifest.Volume == volume
                ? new StoredBackup(volume, id, dir, manifest, null)
                : new StoredBackup(volume, id, dir, null,
                    $"manifest {id}{ManifestSuffix} describes backup {manifest.Id} of volume {manifest.Volume}: it was renamed or moved here; put it back where it was");
        }
        catch (FormatException e)
        {
            return new StoredBackup(volume, id, dir, null, $"manifest {id}{ManifestSuffix} is unreadable: {e.Message}");
        }
    }

    /// <summary>
    /// Creates the volume's subdirectory (0700) and takes its lock (flock through FileShare.None), released on
    /// dispose. Refuses (InUse) while another process holds it.
    /// </summary>
    public IDisposable Lock(string volume)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("backups keep Unix file modes: Linux only");
        }

        var dir = Directory.CreateDirectory(VolumeDirectory(volume), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        try
        {
            return new FileStream(Path.Combine(dir, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"another backup of {volume} into {Root} is running (it holds {Path.Combine(dir, LockFileName)}); wait for it to finish", e);
        }
    }

    /// <summary>
    /// Deletes every file of a backup id (data, manifest, temp files), the manifest last: cut short, it leaves a
    /// backup whose data is missing (which prune deletes), never data without a manifest (which nothing deletes by
    /// itself). Idempotent.
    /// </summary>
    public void Delete(string volume, string id)
    {
        if (!BackupId.IsValid(id) || !Directory.Exists(VolumeDirectory(volume)))
        {
            return;
        }

        foreach (var path in Directory.GetFiles(VolumeDirectory(volume), id + ".*").OrderBy(p => p.EndsWith(ManifestSuffix, StringComparison.Ordinal)))
        {
            File.Delete(path);
        }
    }
}
