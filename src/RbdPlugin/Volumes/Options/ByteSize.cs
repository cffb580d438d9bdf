using System.Globalization;
using System.Text.RegularExpressions;

namespace RbdPlugin.Volumes;

/// <summary>
/// Sizes as users write them: plain bytes ("1073741824") or a number with a unit. Units are binary, as in the rbd
/// CLI and Docker (`10G` = `10GiB` = `10GB` = 10 × 2^30): a user typing 10G must get what `rbd create --size 10G` gives.
/// </summary>
internal static partial class ByteSize
{
    private static readonly Dictionary<string, int> Shifts = new(StringComparer.OrdinalIgnoreCase)
    {
        [""] = 0, ["B"] = 0,
        ["K"] = 10, ["KB"] = 10, ["KiB"] = 10,
        ["M"] = 20, ["MB"] = 20, ["MiB"] = 20,
        ["G"] = 30, ["GB"] = 30, ["GiB"] = 30,
        ["T"] = 40, ["TB"] = 40, ["TiB"] = 40,
        ["P"] = 50, ["PB"] = 50, ["PiB"] = 50,
    };

    [GeneratedRegex(@"^\s*(?<num>[0-9]+(\.[0-9]+)?)\s*(?<unit>[A-Za-z]*)\s*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Parses a size; false for anything malformed, fractional bytes, zero or overflow.</summary>
    public static bool TryParse(string? text, out ulong bytes)
    {
        bytes = 0;
        var match = text is null ? Match.Empty : Pattern().Match(text);
        if (!match.Success || !Shifts.TryGetValue(match.Groups["unit"].Value, out var shift))
        {
            return false;
        }

        if (!decimal.TryParse(match.Groups["num"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        decimal value;
        try
        {
            value = number * (1UL << shift);
        }
        catch (OverflowException)
        {
            return false;
        }

        if (value <= 0 || value != decimal.Truncate(value) || value > ulong.MaxValue)
        {
            return false;
        }

        bytes = (ulong)value;
        return true;
    }

    /// <summary>The shortest exact binary form: 10737418240 → "10G", 1536 → "1536".</summary>
    public static string Format(ulong bytes)
    {
        foreach (var (unit, shift) in new[] { ("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10) })
        {
            var scale = 1UL << shift;
            if (bytes >= scale && bytes % scale == 0)
            {
                return $"{bytes / scale}{unit}";
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }
}
