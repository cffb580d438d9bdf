namespace RbdPlugin.Backups;

/// <summary>
/// One backup found in a volume's backup directory, before verification: its parsed manifest, or why there is
/// none — an unreadable manifest (<see cref="Problem"/>), or only the temp files of an interrupted run
/// (<see cref="Interrupted"/>).
/// </summary>
internal sealed record StoredBackup(string Volume, string Id, string Directory, BackupManifest? Manifest, string? Problem, bool Interrupted = false)
{
    public string PathOf(string fileName) => Path.Combine(Directory, fileName);
}
