using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using RbdPlugin.Hosting;

namespace RbdPlugin.Cli;

/// <summary>
/// What every runbook command shares: a subcommand with <c>--json</c> and the Ceph setting flags, a NAME argument,
/// and the run loop that opens a <see cref="CommandSession"/>, prints text or JSON, and maps a failure to its message
/// and exit code (<see cref="CliExit"/>). Command families (volume, snapshot, backup, trash…) each live in their own
/// file and call these.
/// </summary>
internal static class CliCommand
{
    /// <summary>A subcommand of <paramref name="parent"/> with <c>--json</c>, the Ceph setting flags and <paramref name="extraSettings"/>.</summary>
    public static Command Subcommand(Command parent, string name, string description, out SettingFlags flags, out Option<bool> json,
        IEnumerable<string>? extraSettings = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var command = new Command(name, description);
        json = new Option<bool>("--json") { Description = "Print JSON (fields documented in docs/runbook.md)" };
        command.Options.Add(json);
        flags = SettingFlags.AddTo(command, [.. SettingFlags.CephKeys, .. extraSettings ?? []]);
        parent.Subcommands.Add(command);
        return command;
    }

    /// <summary>A required positional argument.</summary>
    public static Argument<string> Argument(Command command, string name, string description)
    {
        ArgumentNullException.ThrowIfNull(command);
        var argument = new Argument<string>(name) { Description = description };
        command.Arguments.Add(argument);
        return argument;
    }

    /// <summary>The NAME argument of a volume command.</summary>
    public static Argument<string> NameArgument(Command command) => Argument(command, "NAME", "Volume name");

    /// <summary>
    /// Loads the configuration, opens a session, runs <paramref name="operation"/> and prints its result: text, or
    /// JSON with <c>--json</c>. A failure prints the operator's message (JSON on stderr with <c>--json</c>) and
    /// returns its exit code.
    /// </summary>
    public static Task<int> RunAsync<T>(ParseResult parse, SettingFlags flags, Option<bool> jsonOption,
        Func<CommandSession, CancellationToken, Task<T>> operation, JsonTypeInfo<T> jsonType, Func<T, string> text, CancellationToken ct) =>
        RunAsync(parse, jsonOption, c => WithSessionAsync(parse, flags, parse.GetValue(jsonOption), operation, c), jsonType, text, ct);

    /// <summary>Loads the configuration and runs <paramref name="operation"/> on a session opened with it.</summary>
    public static async Task<T> WithSessionAsync<T>(ParseResult parse, SettingFlags flags, bool json,
        Func<CommandSession, CancellationToken, Task<T>> operation, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(operation);
        var options = flags.Load(parse);
        await using var session = await CommandSession.OpenAsync(options, logWarnings: !json, ct);
        return await operation(session, ct);
    }

    /// <summary>As above for a command that needs no Ceph session (or opens its own).</summary>
    public static async Task<int> RunAsync<T>(ParseResult parse, Option<bool> jsonOption,
        Func<CancellationToken, Task<T>> operation, JsonTypeInfo<T> jsonType, Func<T, string> text, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(text);
        var json = parse.GetValue(jsonOption);
        try
        {
            var result = await operation(ct);
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
