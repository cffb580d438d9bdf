namespace RbdPlugin.Node;

/// <summary>
/// A host command failed: non-zero exit, timeout, or the program could not be started. Everything it carries has
/// already been stripped of secrets by <see cref="SecretRedactor"/>, so it may be logged and shown to users.
/// </summary>
internal sealed class HostCommandException : Exception
{
    public HostCommandException(string commandLine, int? exitCode, string stderr, string message, Exception? inner = null)
        : base(message, inner)
    {
        CommandLine = commandLine;
        ExitCode = exitCode;
        Stderr = stderr;
    }

    public HostCommandException() : this("", null, "", "host command failed") { }

    public HostCommandException(string message) : this("", null, "", message) { }

    public HostCommandException(string message, Exception inner) : this("", null, "", message, inner) { }

    /// <summary>The program and its arguments as one line, secrets replaced by "***".</summary>
    public string CommandLine { get; }

    /// <summary>The exit code; null when the process never finished (timeout, could not start).</summary>
    public int? ExitCode { get; }

    /// <summary>Standard error of the command (trimmed, bounded, secrets replaced by "***").</summary>
    public string Stderr { get; }

    /// <summary>True when the command was killed because it ran past its timeout.</summary>
    public bool TimedOut { get; init; }

    /// <summary>Builds the exception for a command that exited non-zero.</summary>
    public static HostCommandException FromExit(string program, IReadOnlyList<string> args, CommandResult result)
    {
        var line = SecretRedactor.CommandLine(program, args);
        var stderr = SecretRedactor.Text(Bounded(result.Stderr));
        var detail = stderr.Length > 0 ? stderr : SecretRedactor.Text(Bounded(result.Stdout));
        return new HostCommandException(line, result.ExitCode, stderr,
            $"`{line}` exited with code {result.ExitCode}" + (detail.Length > 0 ? $": {detail}" : ""));
    }

    /// <summary>Keeps the tail of long output: the error is usually in the last lines.</summary>
    internal static string Bounded(string text, int max = 2000)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= max ? trimmed : "…" + trimmed[^max..];
    }
}
