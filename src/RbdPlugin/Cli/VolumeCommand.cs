using System.CommandLine;
using System.Text.Json;
using RbdPlugin.Operations;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin volume ls|inspect|create|rm|takeover</c>: the runbook commands. Each reads the configuration as
/// <c>serve</c> does, talks to Ceph directly (never to a daemon), prints text or, with <c>--json</c>, the records in
/// CliResults.cs, and exits with a code from <see cref="Hosting.ExitCodes"/>.
/// </summary>
internal static class VolumeCommand
{
    public static Command Create()
    {
        var volume = new Command("volume", "Operate volumes directly on Ceph (runbook commands)");

        var ls = CliCommand.Subcommand(volume, "ls", "List volumes: NAME POOL SIZE USED FSTYPE OWNER MOUNTED CREATED", out var lsFlags, out var lsJson);
        ls.SetAction((parse, ct) => CliCommand.RunAsync(parse, lsFlags, lsJson, (session, c) => session.Get<VolumeOperations>().ListAsync(c),
            CliJsonContext.Default.IReadOnlyListVolumeListItem, VolumeTable.Format, ct));

        var inspect = CliCommand.Subcommand(volume, "inspect", "Show a volume's status, lease owner and watchers", out var inspectFlags, out var inspectJson);
        var inspectName = CliCommand.NameArgument(inspect);
        inspect.SetAction((parse, ct) => CliCommand.RunAsync(parse, inspectFlags, inspectJson, (session, c) => session.Get<VolumeOperations>().InspectAsync(parse.GetValue(inspectName)!, c),
            CliJsonContext.Default.VolumeInspectResult, r => JsonSerializer.Serialize(r, CliJsonContext.Default.VolumeInspectResult) + "\n", ct));

        var create = CliCommand.Subcommand(volume, "create", "Create a volume (idempotent; the same -o options as docker volume create)", out var createFlags, out var createJson);
        var createName = CliCommand.NameArgument(create);
        var options = new Option<string[]>("-o", "--opt") { Description = "Option key=value (size, fstype, pool, features, ...); repeatable", AllowMultipleArgumentsPerToken = false };
        create.Options.Add(options);
        create.SetAction((parse, ct) => CliCommand.RunAsync(parse, createFlags, createJson,
            (session, c) => session.Get<VolumeOperations>().CreateAsync(parse.GetValue(createName)!, CreateOptionPairs.Parse(parse.GetValue(options) ?? []), c),
            CliJsonContext.Default.VolumeCreateResult, r => $"volume {r.Name}: image {r.Image}, {Volumes.ByteSize.Format(r.SizeBytes)}, {r.Fstype}\n", ct));

        var rm = CliCommand.Subcommand(volume, "rm", "Remove a volume (refused while mounted on any host; idempotent)", out var rmFlags, out var rmJson);
        var rmName = CliCommand.NameArgument(rm);
        rm.SetAction((parse, ct) => CliCommand.RunAsync(parse, rmFlags, rmJson, (session, c) => session.Get<VolumeOperations>().RemoveAsync(parse.GetValue(rmName)!, c),
            CliJsonContext.Default.VolumeRemoveResult,
            r => r.Removed ? $"volume {r.Name} removed ({r.Action})\n" : $"volume {r.Name} did not exist; nothing to do\n", ct));

        var takeover = CliCommand.Subcommand(volume, "takeover", "Fence the host owning a volume and free it for the next Mount anywhere", out var takeoverFlags, out var takeoverJson);
        var takeoverName = CliCommand.NameArgument(takeover);
        var force = new Option<bool>("--force") { Description = "Also take over a live lease: fence its holder (all its Ceph I/O) and break the lock" };
        takeover.Options.Add(force);
        takeover.SetAction((parse, ct) => CliCommand.RunAsync(parse, takeoverFlags, takeoverJson,
            (session, c) => session.Get<VolumeOperations>().TakeOverAsync(parse.GetValue(takeoverName)!, parse.GetValue(force), c),
            CliJsonContext.Default.VolumeTakeoverResult, DescribeTakeover, ct));

        SnapshotCommand.AddVolumeCommands(volume);
        return volume;
    }

    public static string DescribeTakeover(VolumeTakeoverResult r)
    {
        var fenced = r.Fenced.Count == 0 ? "fenced nothing" : $"fenced (blocklisted) {string.Join(", ", r.Fenced)}";
        var from = r.PreviousOwner is null ? "had no owner" : $"taken from host {r.PreviousOwner}{(r.BrokeLiveLease ? " (live lease broken)" : "")}";
        return $"volume {r.Name}: {from}; {fenced}; free for the next mount on any host\n";
    }
}
