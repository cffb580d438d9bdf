namespace RbdPlugin.Backups;

/// <summary>
/// One backup found in a volume's backup directory, before verification: its parsed manifest, or why there is
/// none (<see cref="Problem"/>): an unreadable manifest, a data file whose manifest is gone
/// (<see cref="ManifestMissing"/>), or only the temp files of an interrupted run (<see cref="Interrupted"/>, the only
/// kind the next backup removes by itself).
/// </summary>
internal sealed record StoredBackup(string Volume, string Id, string Directory, BackupManifest? Manifest, string? Problem,
    bool Interrupted = false, bool ManifestMissing = false)
{
    public string PathOf(string fileName) => Path.Combine(Directory, fileName);
}
