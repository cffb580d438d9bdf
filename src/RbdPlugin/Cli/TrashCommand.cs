using System.CommandLine;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin trash ls|restore|purge</c>: the volumes Remove moved to Ceph's trash (RemoveAction=trash), and only
/// those. Talks to Ceph directly like the volume commands; JSON records in TrashResults.cs.
/// </summary>
internal static class TrashCommand
{
    public static Command Create()
    {
        var trash = new Command("trash", "Removed volumes waiting in Ceph's trash: list, restore, purge");

        var ls = CliCommand.Subcommand(trash, "ls", "List trashed volumes: NAME IMAGE-ID POOL SIZE REMOVED EXPIRES", out var lsFlags, out var lsJson);
        ls.SetAction((parse, ct) => CliCommand.RunAsync(parse, lsFlags, lsJson, (session, c) => session.Get<TrashOperations>().ListAsync(c),
            TrashCliJsonContext.Default.IReadOnlyListTrashListItem, Table, ct));

        var restore = CliCommand.Subcommand(trash, "restore",
            "Bring a trashed volume back (image and index entry: Docker sees it again); refused while a volume of that name exists",
            out var restoreFlags, out var restoreJson);
        var restoreName = CliCommand.Argument(restore, "NAME", "Volume name (its latest removal) or image id from `trash ls`");
        var asName = new Option<string?>("--as") { Description = "Restore under this volume name instead" };
        restore.Options.Add(asName);
        restore.SetAction((parse, ct) => CliCommand.RunAsync(parse, restoreFlags, restoreJson,
            (session, c) => session.Get<TrashOperations>().RestoreAsync(parse.GetValue(restoreName)!, parse.GetValue(asName), c),
            TrashCliJsonContext.Default.TrashRestoreResult,
            r => $"volume {r.RestoredAs} restored from the trash as image {r.Image} (id {r.ImageId})\n", ct));

        var purge = CliCommand.Subcommand(trash, "purge", "Delete trashed volumes for good: NAME, --expired or --all (idempotent)",
            out var purgeFlags, out var purgeJson);
        var purgeName = new Argument<string?>("NAME") { Description = "Volume name (every removal of it) or image id", Arity = ArgumentArity.ZeroOrOne };
        purge.Arguments.Add(purgeName);
        var expired = new Option<bool>("--expired") { Description = "Only entries past their expiry (TrashExpiry after the removal)" };
        var all = new Option<bool>("--all") { Description = "Everything the plugin trashed" };
        purge.Options.Add(expired);
        purge.Options.Add(all);
        purge.SetAction((parse, ct) => CliCommand.RunAsync(parse, purgeFlags, purgeJson,
            (session, c) => session.Get<TrashOperations>().PurgeAsync(parse.GetValue(purgeName), parse.GetValue(expired), parse.GetValue(all), c),
            TrashCliJsonContext.Default.IReadOnlyListTrashPurgedItem,
            r => r.Count == 0 ? "nothing to purge\n" : string.Concat(r.Select(p => $"purged {p.Name} (image id {p.ImageId}, pool {p.Pool})\n")), ct));

        return trash;
    }

    public static string Table(IReadOnlyList<TrashListItem> items) => TextTable.Render(
        ["NAME", "IMAGE-ID", "POOL", "SIZE", "REMOVED", "EXPIRES"],
        items.Select(i => new[] { i.Name, i.ImageId, i.Pool, i.Size ?? "-", Rfc3339.Format(i.RemovedAt), Rfc3339.Format(i.ExpiresAt) }));
}
