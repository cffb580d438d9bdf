using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using RbdPlugin.Hosting;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin volume ls|inspect|create|rm|takeover</c>: the runbook commands. Each reads the configuration as
/// <c>serve</c> does, talks to Ceph directly (never to a daemon), prints text or, with <c>--json</c>, the records in
/// CliResults.cs, and exits with a code from <see cref="ExitCodes"/>.
/// </summary>
internal static class VolumeCommand
{
    public static Command Create()
    {
        var volume = new Command("volume", "Operate volumes directly on Ceph (runbook commands)");

        var ls = Subcommand(volume, "ls", "List volumes: NAME POOL SIZE FSTYPE OWNER CREATED", out var lsFlags, out var lsJson);
        ls.SetAction((parse, ct) => RunAsync(parse, lsFlags, lsJson, (ops, c) => ops.ListAsync(c),
            CliJsonContext.Default.IReadOnlyListVolumeListItem, VolumeTable.Format, ct));

        var inspect = Subcommand(volume, "inspect", "Show a volume's status, lease owner and watchers", out var inspectFlags, out var inspectJson);
        var inspectName = NameArgument(inspect);
        inspect.SetAction((parse, ct) => RunAsync(parse, inspectFlags, inspectJson, (ops, c) => ops.InspectAsync(parse.GetValue(inspectName)!, c),
            CliJsonContext.Default.VolumeInspectResult, r => JsonSerializer.Serialize(r, CliJsonContext.Default.VolumeInspectResult) + "\n", ct));

        var create = Subcommand(volume, "create", "Create a volume (idempotent; the same -o options as docker volume create)", out var createFlags, out var createJson);
        var createName = NameArgument(create);
        var options = new Option<string[]>("-o", "--opt") { Description = "Option key=value (size, fstype, pool, features, ...); repeatable", AllowMultipleArgumentsPerToken = false };
        create.Options.Add(options);
        create.SetAction((parse, ct) => RunAsync(parse, createFlags, createJson,
            (ops, c) => ops.CreateAsync(parse.GetValue(createName)!, CreateOptionPairs.Parse(parse.GetValue(options) ?? []), c),
            CliJsonContext.Default.VolumeCreateResult, r => $"volume {r.Name}: image {r.Image}, {Volumes.ByteSize.Format(r.SizeBytes)}, {r.Fstype}\n", ct));

        var rm = Subcommand(volume, "rm", "Remove a volume (refused while mounted on any host; idempotent)", out var rmFlags, out var rmJson);
        var rmName = NameArgument(rm);
        rm.SetAction((parse, ct) => RunAsync(parse, rmFlags, rmJson, (ops, c) => ops.RemoveAsync(parse.GetValue(rmName)!, c),
            CliJsonContext.Default.VolumeRemoveResult,
            r => r.Removed ? $"volume {r.Name} removed ({r.Action})\n" : $"volume {r.Name} did not exist; nothing to do\n", ct));

        var takeover = Subcommand(volume, "takeover", "Fence the host owning a volume and free it for the next Mount anywhere", out var takeoverFlags, out var takeoverJson);
        var takeoverName = NameArgument(takeover);
        var force = new Option<bool>("--force") { Description = "Also take over a live lease: fence its holder (all its Ceph I/O) and break the lock" };
        takeover.Options.Add(force);
        takeover.SetAction((parse, ct) => RunAsync(parse, takeoverFlags, takeoverJson,
            (ops, c) => ops.TakeOverAsync(parse.GetValue(takeoverName)!, parse.GetValue(force), c),
            CliJsonContext.Default.VolumeTakeoverResult, DescribeTakeover, ct));

        return volume;
    }

    public static string DescribeTakeover(VolumeTakeoverResult r)
    {
        var fenced = r.Fenced.Count == 0 ? "fenced nothing" : $"fenced (blocklisted) {string.Join(", ", r.Fenced)}";
        var from = r.PreviousOwner is null ? "had no owner" : $"taken from host {r.PreviousOwner}{(r.BrokeLiveLease ? " (live lease broken)" : "")}";
        return $"volume {r.Name}: {from}; {fenced}; free for the next mount on any host\n";
    }

    private static Command Subcommand(Command parent, string name, string description, out SettingFlags flags, out Option<bool> json)
    {
        var command = new Command(name, description);
        json = new Option<bool>("--json") { Description = "Print JSON (fields documented in README, Runbook CLI)" };
        command.Options.Add(json);
        flags = SettingFlags.AddTo(command, SettingFlags.CephKeys);
        parent.Subcommands.Add(command);
        return command;
    }

    private static Argument<string> NameArgument(Command command)
    {
        var name = new Argument<string>("NAME") { Description = "Volume name" };
        command.Arguments.Add(name);
        return name;
    }

    private static async Task<int> RunAsync<T>(ParseResult parse, SettingFlags flags, Option<bool> jsonOption,
        Func<Cli.VolumeOperations, CancellationToken, Task<T>> operation, JsonTypeInfo<T> jsonType, Func<T, string> text, CancellationToken ct)
    {
        var json = parse.GetValue(jsonOption);
        try
        {
            var options = flags.Load(parse);
            await using var session = await VolumeSession.OpenAsync(options, ct);
            var result = await operation(session.Operations, ct);
            await Console.Out.WriteAsync(json ? JsonSerializer.Serialize(result, jsonType) + "\n" : text(result));
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var code = CliExit.CodeOf(e);
            var message = CliExit.MessageOf(e);
            await Console.Error.WriteLineAsync(json
                ? JsonSerializer.Serialize(new CliError(message, code), CliJsonContext.Default.CliError)
                : $"rbd-plugin: {message}");
            return code;
        }
    }
}
