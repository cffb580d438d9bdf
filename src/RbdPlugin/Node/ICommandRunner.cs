namespace RbdPlugin.Node;

/// <summary>
/// Runs one host program with an argument array (never through a shell) and captures its output. The only seam
/// through which the data plane starts processes; <see cref="CommandRunner"/> is its one implementation.
/// </summary>
internal interface ICommandRunner
{
    /// <summary>
    /// Runs the program and returns its output. A non-zero exit, a timeout or a program that cannot be started
    /// throws <see cref="HostCommandException"/> (command line and stderr stripped of secrets).
    /// </summary>
    /// <param name="program">Program name (looked up on PATH) or absolute path.</param>
    /// <param name="args">Arguments, one element each; nothing is split or interpreted.</param>
    /// <param name="ct">Cancels the command (the process is killed).</param>
    /// <param name="env">Extra environment variables for the child, on top of this process's environment.</param>
    /// <param name="timeout">Upper bound for this command; null = the runner's default (60 s).</param>
    Task<CommandResult> RunAsync(
        string program,
        IReadOnlyList<string> args,
        CancellationToken ct,
        IReadOnlyDictionary<string, string>? env = null,
        TimeSpan? timeout = null);

    /// <summary>
    /// Like <see cref="RunAsync"/> but returns the result whatever the exit code, for callers that classify exit
    /// codes themselves (blkid's 2 = nothing found, umount's "not mounted"). Still throws
    /// <see cref="HostCommandException"/> on timeout or when the program cannot be started.
    /// </summary>
    Task<CommandResult> TryRunAsync(
        string program,
        IReadOnlyList<string> args,
        CancellationToken ct,
        IReadOnlyDictionary<string, string>? env = null,
        TimeSpan? timeout = null);

    /// <summary>
    /// Like <see cref="RunAsync"/>, with the program's standard input written by <paramref name="input"/> (closed when
    /// it returns): for data that must be checked on its way in rather than read by the program from a path that
    /// could change under it. Cancelling <paramref name="ct"/> kills the program, e.g. when the input turns out bad.
    /// </summary>
    Task<CommandResult> RunWithInputAsync(
        string program,
        IReadOnlyList<string> args,
        Func<Stream, CancellationToken, Task> input,
        CancellationToken ct,
        TimeSpan? timeout = null);
}

/// <summary>What a finished command produced.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error (not yet stripped of secrets).</param>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;
}
