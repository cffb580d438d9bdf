using System.Globalization;
using System.Text.RegularExpressions;

namespace RbdPlugin.Hosting;

/// <summary>Durations as operators write them: 500ms, 2s, 10m, 1h, 7d. No bare numbers (is "2" seconds or days?).</summary>
internal static partial class Duration
{
    [GeneratedRegex(@"^(?<n>[0-9]+)(?<u>ms|s|m|h|d)\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        var match = Pattern().Match(text?.Trim() ?? "");
        if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000)
        {
            return false;
        }

        value = match.Groups["u"].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
        return true;
    }
}
