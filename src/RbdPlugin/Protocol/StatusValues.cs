using System.Globalization;

namespace RbdPlugin.Protocol;

/// <summary>
/// Narrows a volume's Status to the JSON types the source-generated context is registered for (string, bool, long,
/// ulong, double, decimal, and the limits' Dictionary&lt;string, ulong&gt;), so serialization cannot fail on a value
/// type nobody registered. Docker shows Status verbatim in <c>docker volume inspect</c>.
/// </summary>
internal static class StatusValues
{
    public static IReadOnlyDictionary<string, object>? ToWire(IReadOnlyDictionary<string, object>? status)
    {
        if (status is null)
        {
            return null;
        }

        var wire = new Dictionary<string, object>(status.Count, StringComparer.Ordinal);
        foreach (var (key, value) in status)
        {
            wire[key] = ToWire(value);
        }

        return wire;
    }

    public static object ToWire(object? value) => value switch
    {
        null => "",
        string or bool or long or ulong or decimal => value,
        Dictionary<string, ulong> => value, // registered too: the I/O limits by option name, a JSON object
        int or short or sbyte or uint or ushort or byte => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        double d => double.IsFinite(d) ? d : d.ToString(CultureInfo.InvariantCulture),
        float f => float.IsFinite(f) ? (double)f : f.ToString(CultureInfo.InvariantCulture),
        DateTimeOffset t => Rfc3339DateTimeOffsetConverter.Format(t),
        DateTime t => Rfc3339DateTimeOffsetConverter.Format(new DateTimeOffset(t.ToUniversalTime())),
        Enum e => e.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
