using System.Text;
using System.Text.RegularExpressions;

namespace RbdPlugin.Node;

/// <summary>
/// Strips secrets from command lines and tool output before they reach logs or error messages (invariant 6).
/// We only ever hand tools a keyring <em>path</em> (--keyring/--keyfile), but redact defensively: the value after
/// --key/--secret, any key=/secret= option, keyring lines ("key = ...") and anything shaped like a cephx key.
/// </summary>
internal static partial class SecretRedactor
{
    public const string Mask = "***";

    /// <summary>Flags whose following argument is a secret.</summary>
    private static readonly HashSet<string> SecretFlags = new(StringComparer.Ordinal) { "--key", "--secret" };

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

    private static string Quote(string arg) =>
        arg.Length > 0 && !arg.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'') ? arg : $"'{arg.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    /// <summary>key=V, secret=V, --key=V, mon_key=V, "key = V" (keyring files); stops at a comma or whitespace.</summary>
    [GeneratedRegex(@"(?<name>[A-Za-z0-9_.-]*(?:key|secret))(?<sep>\s*=\s*)(?<value>[^\s,]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretAssignment();

    /// <summary>"--key V" or "--secret V" inside one string.</summary>
    [GeneratedRegex(@"(?<flag>--(?:key|secret)\s+)(?<value>\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex SecretFlagValue();

    /// <summary>A cephx secret: base64 of 28 bytes, always starting with "AQ" (type 1, AES).</summary>
    [GeneratedRegex(@"AQ[A-Za-z0-9+/]{36}==", RegexOptions.CultureInvariant)]
    private static partial Regex CephxKey();
}
