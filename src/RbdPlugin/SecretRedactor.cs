using System.Text;
using System.Text.RegularExpressions;

namespace RbdPlugin;

/// <summary>
/// The one place secrets are stripped before they reach logs, error messages or Docker's Err (invariant 6): command
/// lines, tool output, and the messages of libraries we do not control. We only ever hand tools a keyring
/// <em>path</em> (--keyring/--keyfile), but redact defensively: the value after --key/--secret/--password/--token,
/// any key=/secret=/password=/token= (or ": ") option, keyring lines ("key = ...") and anything shaped like a cephx key.
/// </summary>
internal static partial class SecretRedactor
{
    public const string Mask = "***";

    /// <summary>Flags whose following argument is a secret.</summary>
    private static readonly HashSet<string> SecretFlags = new(StringComparer.Ordinal) { "--key", "--secret", "--password", "--token" };

    /// <summary>How long an Err sent to Docker may be.</summary>
    private const int MaxMessageLength = 1000;

    /// <summary>The program and arguments as one readable line, secrets masked.</summary>
    public static string CommandLine(string program, IReadOnlyList<string> args)
    {
        var sb = new StringBuilder(Quote(program));
        foreach (var arg in Arguments(args))
        {
            sb.Append(' ').Append(Quote(arg));
        }
        return sb.ToString();
    }

    /// <summary>The arguments with every secret value replaced by <see cref="Mask"/>.</summary>
    public static IReadOnlyList<string> Arguments(IReadOnlyList<string> args)
    {
        var result = new string[args.Count];
        for (var i = 0; i < args.Count; i++)
        {
            result[i] = i > 0 && SecretFlags.Contains(args[i - 1]) ? Mask : Text(args[i]);
        }
        return result;
    }

    /// <summary>Free text (stderr, stdout, one argument) with secret values masked.</summary>
    public static string Text(string text)
    {
        if (text.Length == 0)
        {
            return text;
        }
        var masked = SecretAssignment().Replace(text, m => m.Groups["name"].Value + m.Groups["sep"].Value + Mask);
        masked = SecretFlagValue().Replace(masked, m => m.Groups["flag"].Value + Mask);
        return CephxKey().Replace(masked, Mask);
    }

    /// <summary>A message for Docker or a person: secrets masked, one line, at most 1,000 characters.</summary>
    public static string Message(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = Text(message).ReplaceLineEndings(" ");
        return text.Length <= MaxMessageLength ? text : string.Concat(text.AsSpan(0, MaxMessageLength), "...");
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && !arg.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'') ? arg : $"'{arg.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    /// <summary>key=V, secret: V, --key=V, mon_key=V, "key = V" (keyring files), password/token likewise; stops at a
    /// comma, semicolon, quote or whitespace.</summary>
    [GeneratedRegex(@"(?<name>[A-Za-z0-9_.-]*(?:key|secret|password|passwd|token))(?<sep>\s*[=:]\s*)(?<value>[^\s,;'""]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretAssignment();

    /// <summary>"--key V", "--secret V", "--password V" or "--token V" inside one string.</summary>
    [GeneratedRegex(@"(?<flag>--(?:key|secret|password|token)\s+)(?<value>\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex SecretFlagValue();

    /// <summary>A cephx secret: base64 of 28 bytes, always starting with "AQ" (type 1, AES).</summary>
    [GeneratedRegex(@"AQ[A-Za-z0-9+/]{36}==", RegexOptions.CultureInvariant)]
    private static partial Regex CephxKey();
}
