using System.CommandLine;
using System.Text.Json.Serialization.Metadata;
using RbdPlugin.Volumes;
using RbdPlugin.Hosting;
using RbdPlugin.Operations;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin snapshot create|ls|rm|rollback</c>, and <c>volume clone|resize</c> (added to the volume command by
/// <see cref="AddVolumeCommands"/>). They take the Ceph flags plus <c>--state-dir</c>/<c>--admin-socket</c>, which
/// locate this host's daemon for the work on a mounted filesystem.
/// </summary>
internal static class SnapshotCommand
{
    /// <summary>The settings that locate this host's daemon (its admin socket), for commands that may need it.</summary>
    public static readonly IReadOnlyList<string> DaemonKeys = ["StateDir", "AdminSocket"];

    public static Command Create()
    {
        var snapshot = new Command("snapshot", "Snapshots of volumes: consistent while mounted (the owning host freezes the filesystem)");

        var create = Subcommand(snapshot, "create", "Take a snapshot (idempotent); a mounted volume is frozen around it by its host's daemon", out var createFlags, out var createJson);
        var createName = CliCommand.NameArgument(create);
        var createSnap = SnapArgument(create);
        create.SetAction((parse, ct) => RunOnSnapshotAsync(parse, createName, createSnap, createFlags, createJson,
            (session, n, sn, c) => session.Get<SnapshotOperations>().CreateAsync(n, sn, c), SnapshotJsonContext.Default.SnapshotTaken, DescribeTaken, ct));

        var ls = Subcommand(snapshot, "ls", "List a volume's snapshots: NAME SIZE CREATED", out var lsFlags, out var lsJson);
        var lsName = CliCommand.NameArgument(ls);
        ls.SetAction((parse, ct) => CliCommand.RunAsync(parse, lsFlags, lsJson, (session, c) => session.Get<SnapshotOperations>().ListAsync(parse.GetValue(lsName)!, c),
            SnapshotJsonContext.Default.IReadOnlyListSnapshotListItem, Table, ct));

        var rm = Subcommand(snapshot, "rm", "Remove a snapshot (idempotent)", out var rmFlags, out var rmJson);
        var rmName = CliCommand.NameArgument(rm);
        var rmSnap = SnapArgument(rm);
        rm.SetAction((parse, ct) => RunOnSnapshotAsync(parse, rmName, rmSnap, rmFlags, rmJson,
            (session, n, sn, c) => session.Get<SnapshotOperations>().RemoveAsync(n, sn, c), SnapshotJsonContext.Default.SnapshotRemoved,
            r => r.Removed ? $"snapshot {r.Name}@{r.Snapshot} removed\n" : $"snapshot {r.Name}@{r.Snapshot} did not exist; nothing to do\n", ct));

        var rollback = Subcommand(snapshot, "rollback", "Write a snapshot back over the volume (refused while it is mounted anywhere)", out var rbFlags, out var rbJson);
        var rbName = CliCommand.NameArgument(rollback);
        var rbSnap = SnapArgument(rollback);
        rollback.SetAction((parse, ct) => RunOnSnapshotAsync(parse, rbName, rbSnap, rbFlags, rbJson,
            (session, n, sn, c) => session.Get<SnapshotOperations>().RollbackAsync(n, sn, c), SnapshotJsonContext.Default.SnapshotRolledBack,
            r => $"volume {r.Name} rolled back to snapshot {r.Snapshot} ({ByteSize.Format(r.SizeBytes)})\n", ct));

        return snapshot;
    }

    /// <summary>Adds <c>clone</c>, <c>flatten</c>, <c>resize</c> and <c>limit</c> to the <c>volume</c> command.</summary>
    public static void AddVolumeCommands(Command volume)
    {
        var clone = Subcommand(volume, "clone", "Create a volume from a snapshot: rbd-plugin volume clone SOURCE@SNAP NEW (or SOURCE SNAP NEW)",
            out var cloneFlags, out var cloneJson);
        var source = CliCommand.Argument(clone, "SOURCE", "The snapshot to clone, as SOURCE@SNAP, or the source volume followed by SNAP");
        var cloneRest = new Argument<string[]>("NEW") { Description = "The new volume's name (after SNAP in the two-argument form)", Arity = new ArgumentArity(1, 2) };
        clone.Arguments.Add(cloneRest);
        var size = new Option<string?>("--size") { Description = "Size of the new volume; at least the snapshot's (default: the snapshot's)" };
        clone.Options.Add(size);
        clone.SetAction((parse, ct) => CliCommand.RunAsync(parse, cloneJson, c =>
            {
                var (from, name) = CloneTarget(parse.GetValue(source)!, parse.GetValue(cloneRest)!);
                return CliCommand.WithSessionAsync(parse, cloneFlags, parse.GetValue(cloneJson),
                    (session, c2) => session.Get<CloneOperations>().CloneAsync(from, name, parse.GetValue(size), c2), c);
            },
            SnapshotJsonContext.Default.VolumeCloned,
            r => $"volume {r.Name} created from {r.Source}@{r.Snapshot}: image {r.Image}, {ByteSize.Format(r.SizeBytes)}, {r.Fstype}\n", ct));

        var flatten = Subcommand(volume, "flatten", "Copy a clone's shared data so it no longer needs its snapshot (idempotent; works while mounted)", out var flattenFlags, out var flattenJson);
        var flattenName = CliCommand.NameArgument(flatten);
        flatten.SetAction((parse, ct) => CliCommand.RunAsync(parse, flattenFlags, flattenJson,
            (session, c) => session.Get<CloneOperations>().FlattenAsync(parse.GetValue(flattenName)!, c),
            SnapshotJsonContext.Default.VolumeFlattened,
            r => r.Flattened
                ? $"volume {r.Name} flattened: it no longer depends on {r.From ?? "its parent snapshot"}\n"
                : $"volume {r.Name} depends on no snapshot; nothing to do\n", ct));

        var resize = Subcommand(volume, "resize", "Grow a volume and its filesystem (online on the host that has it mounted); never shrinks", out var resizeFlags, out var resizeJson);
        var resizeName = CliCommand.NameArgument(resize);
        var newSize = CliCommand.Argument(resize, "SIZE", "New size, e.g. 20G; larger than or equal to the current size");
        resize.SetAction((parse, ct) => CliCommand.RunAsync(parse, resizeFlags, resizeJson,
            (session, c) => session.Get<ResizeOperations>().ResizeAsync(parse.GetValue(resizeName)!, parse.GetValue(newSize)!, c),
            SnapshotJsonContext.Default.VolumeResized, DescribeResized, ct));

        var limit = Subcommand(volume, "limit", "Show or change a volume's I/O limits: rbd-plugin volume limit NAME [iops-limit=500] [bps-limit=50M] ... (0 removes one)",
            out var limitFlags, out var limitJson);
        var limitName = CliCommand.NameArgument(limit);
        var limits = new Argument<string[]>("LIMIT=VALUE")
        {
            Description = $"Limits to change: {string.Join(", ", Volumes.IoLimits.Options)}; IOPS, or bytes per second (50M); 0 removes the limit",
            Arity = ArgumentArity.ZeroOrMore,
        };
        limit.Arguments.Add(limits);
        limit.SetAction((parse, ct) => CliCommand.RunAsync(parse, limitFlags, limitJson,
            (session, c) => session.Get<LimitOperations>().LimitAsync(parse.GetValue(limitName)!, CreateOptionPairs.Parse(parse.GetValue(limits) ?? []), c),
            SnapshotJsonContext.Default.VolumeLimited, DescribeLimited, ct));
    }

    public static string DescribeLimited(VolumeLimited r)
    {
        static string Show(IReadOnlyDictionary<string, ulong> limits) => limits.Count == 0 ? "no I/O limits" : Volumes.IoLimits.Describe(limits);
        var where = r.MountedOn is { } host ? $"; mounted on host {host}, which applies them now (rbd-nbd, rbd-fuse)" : "";
        return r.Changed
            ? $"volume {r.Name}: {Show(r.Limits)} (was {Show(r.Before)}){where}\n"
            : $"volume {r.Name}: {Show(r.Limits)}\n";
    }

    public static string DescribeTaken(SnapshotTaken r) => r switch
    {
        { Created: false } => $"snapshot {r.Name}@{r.Snapshot} already exists (taken {Rfc3339.Format(r.CreatedAt)}); nothing done\n",
        { Frozen: true } => $"snapshot {r.Name}@{r.Snapshot} taken; the filesystem was frozen on host {r.Host} for {r.FreezeMs} ms\n",
        _ => $"snapshot {r.Name}@{r.Snapshot} taken (volume not mounted)\n",
    };

    public static string DescribeResized(VolumeResized r)
    {
        var head = r.PreviousSizeBytes == r.SizeBytes
            ? $"volume {r.Name} is {ByteSize.Format(r.SizeBytes)} already"
            : $"volume {r.Name} resized from {ByteSize.Format(r.PreviousSizeBytes)} to {ByteSize.Format(r.SizeBytes)}";
        return r switch
        {
            { Filesystem: "grown" } => $"{head}; filesystem grown online on host {r.Host} to {ByteSize.Format(r.FilesystemBytes ?? 0)}\n",
            { Host: not null } => $"{head}; it is mounted on host {r.Host}: its filesystem grows at the next mount, or run this command on {r.Host} to grow it now\n",
            _ => $"{head}; the filesystem grows at the next mount\n",
        };
    }

    public static string Table(IReadOnlyList<SnapshotListItem> items) =>
        TextTable.Render(["NAME", "SIZE", "CREATED"], items.Select(i => new[] { i.Name, i.Size, Rfc3339.Format(i.CreatedAt) }));

    /// <summary>SNAPSHOT after NAME, or left out when NAME is NAME@SNAPSHOT, the way rbd users write it.</summary>
    private static Argument<string?> SnapArgument(Command command)
    {
        var argument = new Argument<string?>("SNAPSHOT") { Description = "Snapshot name (or give NAME@SNAPSHOT)", Arity = ArgumentArity.ZeroOrOne };
        command.Arguments.Add(argument);
        return argument;
    }

    /// <summary>Runs <paramref name="operation"/> on the volume and snapshot named as NAME SNAPSHOT or NAME@SNAPSHOT,
    /// the form checked before anything connects to Ceph.</summary>
    private static Task<int> RunOnSnapshotAsync<T>(ParseResult parse, Argument<string> name, Argument<string?> snapshot, SettingFlags flags,
        Option<bool> json, Func<CommandSession, string, string, CancellationToken, Task<T>> operation, JsonTypeInfo<T> jsonType,
        Func<T, string> text, CancellationToken ct) =>
        CliCommand.RunAsync(parse, json, c =>
        {
            var (volume, snap) = SplitTarget(parse.GetValue(name)!, parse.GetValue(snapshot));
            return CliCommand.WithSessionAsync(parse, flags, parse.GetValue(json), (session, c2) => operation(session, volume, snap, c2), c);
        }, jsonType, text, ct);

    /// <summary><c>volume clone</c>'s arguments, SOURCE@SNAP NEW or SOURCE SNAP NEW: the source as SOURCE@SNAP, and NEW.</summary>
    internal static (string Source, string Name) CloneTarget(string source, IReadOnlyList<string> rest)
    {
        ArgumentNullException.ThrowIfNull(rest);
        var (volume, snap) = SplitTarget(source, rest.Count == 2 ? rest[0] : null);
        return ($"{volume}@{snap}", rest[^1]);
    }

    /// <summary>
    /// NAME SNAPSHOT (<paramref name="snapshot"/> given) or NAME@SNAPSHOT (not given), the way rbd users write it.
    /// Anything else is refused saying what is wrong with it: no snapshot, an empty side of '@', more than one '@',
    /// or both forms at once; and a snapshot name against its rule (<see cref="SnapshotName"/>), before connecting.
    /// </summary>
    internal static (string Volume, string Snapshot) SplitTarget(string name, string? snapshot)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Split('@');
        var problem = (parts.Length, snapshot) switch
        {
            (1, null or "") => $"'{name}' names no snapshot",
            (1, _) => null,
            (2, { Length: > 0 } second) => $"'{name} {second}' names the snapshot twice ('{parts[1]}' and '{second}'); use one form",
            (2, _) when parts[0].Length == 0 => $"'{name}' names no volume before the '@'",
            (2, _) when parts[1].Length == 0 => $"'{name}' names no snapshot after the '@'",
            (2, _) => null,
            _ => $"'{name}' has {parts.Length - 1} '@'; volume and snapshot names have none",
        };
        if (problem is not null)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, $"{problem}: name the snapshot as NAME SNAPSHOT or NAME@SNAPSHOT, e.g. db1 nightly or db1@nightly");
        }

        var (volume, snap) = parts.Length == 2 ? (parts[0], parts[1]) : (name, snapshot!);
        SnapshotName.Validate(snap); // "db1 a@b": the snapshot name's own rule, which has no '@'
        return (volume, snap);
    }

    private static Command Subcommand(Command parent, string name, string description, out SettingFlags flags, out Option<bool> json) =>
        CliCommand.Subcommand(parent, name, description, out flags, out json, DaemonKeys);
}
