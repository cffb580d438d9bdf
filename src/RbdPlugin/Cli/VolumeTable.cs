using System.Globalization;
using System.Text;

namespace RbdPlugin.Cli;

/// <summary>The human form of <c>volume ls</c>: aligned columns NAME POOL SIZE FSTYPE OWNER CREATED.</summary>
internal static class VolumeTable
{
    public static string Format(IReadOnlyList<VolumeListItem> items)
    {
        string[] header = ["NAME", "POOL", "SIZE", "FSTYPE", "OWNER", "CREATED"];
        var rows = items.Select(i => new[]
        {
            i.Name, i.Pool, i.Size, i.Fstype,
            i.Owner is null ? "-" : i.Lease == "expired" ? $"{i.Owner} (expired)" : i.Owner,
            i.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        }).Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            sb.AppendJoin("   ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).Append('\n');
        }

        return sb.ToString();
    }
}
