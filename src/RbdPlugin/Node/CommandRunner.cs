using System.ComponentModel;
using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;

namespace RbdPlugin.Node;

/// <summary>
/// The one class in the project that touches CliWrap. Arguments always go as an array (CliWrap quotes each for
/// the OS; no shell ever parses them), stdin is empty (so a tool that asks "Proceed anyway? (y,N)" reads EOF and
/// refuses) unless the caller writes it (<see cref="RunWithInputAsync"/>), the locale is C (so the stderr texts callers name as constants are the English ones), and every
/// command is killed after its timeout so nothing hangs past Docker's deadline.
/// </summary>
internal sealed partial class CommandRunner(ILogger<CommandRunner> logger) : ICommandRunner
{
    private readonly ILogger _logger = logger;

    /// <summary>Timeout of a command that does not ask for its own. Default 60 s.</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public async Task<CommandResult> RunAsync(
        string program,
        IReadOnlyList<string> args,
        CancellationToken ct,
        IReadOnlyDictionary<string, string>? env = null,
        TimeSpan? timeout = null)
    {
        var result = await TryRunAsync(program, args, ct, env, timeout);
        return result.Succeeded ? result : throw HostCommandException.FromExit(program, args, result);
    }

    public Task<CommandResult> TryRunAsync(
        string program,
        IReadOnlyList<string> args,
        CancellationToken ct,
        IReadOnlyDictionary<string, string>? env = null,
        TimeSpan? timeout = null) =>
        ExecuteAsync(program, args, PipeSource.Null, env, timeout, ct);

    public async Task<CommandResult> RunWithInputAsync(
        string program,
        IReadOnlyList<string> args,
        Func<Stream, CancellationToken, Task> input,
        CancellationToken ct,
        TimeSpan? timeout = null)
    {
        var result = await ExecuteAsync(program, args, PipeSource.Create(input), null, timeout, ct);
        return result.Succeeded ? result : throw HostCommandException.FromExit(program, args, result);
    }

    private async Task<CommandResult> ExecuteAsync(
        string program,
        IReadOnlyList<string> args,
        PipeSource stdin,
        IReadOnlyDictionary<string, string>? env,
        TimeSpan? timeout,
        CancellationToken ct)
    {
        var limit = timeout ?? DefaultTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);

        var command = CliWrap.Cli.Wrap(program)
            .WithArguments(args)
            .WithEnvironmentVariables(vars =>
            {
                vars.Set("LC_ALL", "C");
                foreach (var (name, value) in env ?? new Dictionary<string, string>())
                {
                    vars.Set(name, value);
                }
            })
            .WithStandardInputPipe(stdin)
            .WithValidation(CommandResultValidation.None);

        var started = Stopwatch.GetTimestamp();
        try
        {
            var buffered = await command.ExecuteBufferedAsync(deadline.Token);
            var result = new CommandResult(buffered.ExitCode, buffered.StandardOutput, buffered.StandardError);
            LogFinished(SecretRedactor.CommandLine(program, args), result.ExitCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            var line = SecretRedactor.CommandLine(program, args);
            LogTimedOut(line, limit.TotalSeconds);
            throw new HostCommandException(line, null, "",
                $"`{line}` did not finish within {limit.TotalSeconds:0.#} s and was killed", e) { TimedOut = true };
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            // CliWrap reports a missing or non-executable program as one of these, before any process exists.
            var line = SecretRedactor.CommandLine(program, args);
            throw new HostCommandException(line, null, "",
                $"`{program}` could not be started ({SecretRedactor.Text(e.Message)}); is it installed and on PATH?", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ran {Command}: exit {ExitCode} after {ElapsedMs:0} ms")]
    private partial void LogFinished(string command, int exitCode, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Killed {Command} after its {TimeoutSeconds} s timeout")]
    private partial void LogTimedOut(string command, double timeoutSeconds);
}
