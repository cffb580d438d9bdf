using System.CommandLine;
using RbdPlugin.Backups;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin backup create|ls|prune|restore</c>: incremental backups of volumes into a directory, as chains of
/// <c>rbd export-diff</c> files with manifests (see Backups/). <c>ls</c> and <c>prune</c> read only the directory;
/// create and restore talk to Ceph directly, like the volume commands.
/// </summary>
internal static class BackupCommand
{
    public static Command Create()
    {
        var backup = new Command("backup", "Incremental backups of volumes into a directory, and restores from them");

        var create = CliCommand.Subcommand(backup, "create", "Back up a volume into DIR: full the first time, then incremental", out var createFlags, out var createJson,
            SnapshotCommand.DaemonKeys);
        var createName = CliCommand.NameArgument(create);
        var createDir = CliCommand.Argument(create, "DIR", "Backup directory (must exist); the volume's backups go to DIR/NAME");
        var full = new Option<bool>("--full") { Description = "Start a new chain with a full backup even when an incremental is possible" };
        create.Options.Add(full);
        create.SetAction((parse, ct) => CliCommand.RunAsync(parse, createJson,
            c => CliCommand.WithSessionAsync(parse, createFlags, parse.GetValue(createJson), (session, c2) =>
                session.Get<BackupOperations>().CreateAsync(parse.GetValue(createName)!, parse.GetValue(createDir)!, parse.GetValue(full), c2), c),
            BackupCliJsonContext.Default.BackupCreateResult, DescribeCreate, ct));

        var ls = CliCommand.Subcommand(backup, "ls", "List the backups in DIR with their chain and status (reads DIR only)", out _, out var lsJson);
        var lsDir = CliCommand.Argument(ls, "DIR", "Backup directory");
        var verify = new Option<bool>("--verify") { Description = "Also check every data file's SHA-256 (reads all the data)" };
        ls.Options.Add(verify);
        ls.SetAction((parse, ct) => CliCommand.RunAsync(parse, lsJson, c => BackupOperations.ListAsync(parse.GetValue(lsDir)!, parse.GetValue(verify), c),
            BackupCliJsonContext.Default.IReadOnlyListBackupListItem, BackupTable.Format, ct));

        AddPrune(backup);

        var restore = CliCommand.Subcommand(backup, "restore", "Restore a backup chain from DIR into a new volume (verified first)", out var restoreFlags, out var restoreJson);
        var restoreDir = CliCommand.Argument(restore, "DIR", "Backup directory");
        var restoreName = CliCommand.Argument(restore, "NEW", "Name of the volume to create (must not exist)");
        var at = new Option<string?>("--at") { Description = "Backup id to restore (default: the newest, when DIR holds one volume's backups)" };
        restore.Options.Add(at);
        restore.SetAction((parse, ct) => CliCommand.RunAsync(parse, restoreJson,
            c => CliCommand.WithSessionAsync(parse, restoreFlags, parse.GetValue(restoreJson), (session, c2) =>
                session.Get<BackupOperations>().RestoreAsync(parse.GetValue(restoreDir)!, parse.GetValue(restoreName)!, parse.GetValue(at), c2), c),
            BackupCliJsonContext.Default.BackupRestoreResult,
            r => $"volume {r.Name} restored from backup {r.BackupId} ({r.Chain.Count} backup(s) applied): {r.Image}, {ByteSize.Format(r.SizeBytes)}, {r.Fstype}\n", ct));

        return backup;
    }

    private static void AddPrune(Command backup)
    {
        var prune = CliCommand.Subcommand(backup, "prune", "Delete all but the newest N complete backups of NAME in DIR and what they build on (reads DIR only)",
            out _, out var json);
        var name = CliCommand.NameArgument(prune);
        var dir = CliCommand.Argument(prune, "DIR", "Backup directory");
        var keep = new Option<int?>("--keep") { Description = "How many complete backups to keep, newest first (at least 1); their chains are kept whole" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Delete nothing; print what would be deleted" };
        var verify = new Option<bool>("--verify") { Description = "Also check every data file's SHA-256 first: a damaged backup is not kept as a restore point" };
        prune.Options.Add(keep);
        prune.Options.Add(dryRun);
        prune.Options.Add(verify);
        prune.SetAction((parse, ct) => CliCommand.RunAsync(parse, json,
            c => BackupOperations.PruneAsync(parse.GetValue(name)!, parse.GetValue(dir)!, parse.GetValue(keep), parse.GetValue(dryRun), parse.GetValue(verify), c),
            BackupCliJsonContext.Default.BackupPruneResult, DescribePrune, ct));
    }

    internal static string DescribePrune(BackupPruneResult r) =>
        string.Concat(r.Deleted.Select(id => $"{(r.DryRun ? "would delete" : "deleted")} backup {id}\n")) +
        string.Concat(r.Skipped.Select(s => $"skipped {s.Id}: {s.Problem}\n")) +
        $"kept {r.Kept.Count} backup(s) of {r.Volume} in {r.Directory}, newest first: {string.Join(", ", r.Kept)}" +
        (r.DryRun ? $" (dry run: {r.Deleted.Count} would be deleted, nothing was)\n" : $"; {r.Deleted.Count} deleted\n");

    private static string DescribeCreate(BackupCreateResult r) =>
        $"backup {r.Id} of {r.Volume}: {r.Kind}{(r.ParentId is null ? "" : $" on {r.ParentId}")}, {BackupTable.Approximate(r.Bytes)} in {Path.Combine(r.Directory, r.File)}; " +
        $"snapshot {r.Snapshot} kept for the next one{(r.RemovedSnapshot is null ? "" : $", {r.RemovedSnapshot} removed")}\n" +
        (r.Warning is null ? "" : $"warning: {r.Warning}\n");
}
