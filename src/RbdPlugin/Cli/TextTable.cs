using System.Text;

namespace RbdPlugin.Cli;

/// <summary>The human form of a listing: a header and rows in aligned columns (times as <see cref="Volumes.Rfc3339"/>).</summary>
internal static class TextTable
{
    public static string Render(string[] header, IEnumerable<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        var all = rows.Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => all.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var row in all)
        {
            sb.AppendJoin("   ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).Append('\n');
        }

        return sb.ToString();
    }
}
