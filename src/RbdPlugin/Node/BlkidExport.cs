namespace RbdPlugin.Node;

/// <summary>Reads the KEY=VALUE lines of <c>blkid -p -o export</c>.</summary>
internal static class BlkidExport
{
    /// <summary>What blkid reports when it found a signature it cannot name more precisely.</summary>
    public const string Unknown = "unknown";

    /// <summary>
    /// The signature blkid found: TYPE (a filesystem, swap, LVM, RAID member...) or else PTTYPE (a partition
    /// table: "dos", "gpt"). blkid exited 0, so something is there: with neither key we still say
    /// <see cref="Unknown"/>, never null, because null would let mkfs run.
    /// </summary>
    public static string Signature(string export)
    {
        var values = Parse(export);
        return values.GetValueOrDefault("TYPE") is { Length: > 0 } type ? type
            : values.GetValueOrDefault("PTTYPE") is { Length: > 0 } pt ? pt
            : Unknown;
    }

    /// <summary>Every KEY=VALUE line; blkid escapes special characters in values, which we leave as they are.</summary>
    public static IReadOnlyDictionary<string, string> Parse(string export)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in export.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values.TryAdd(line[..eq], line[(eq + 1)..]);
            }
        }
        return values;
    }
}
