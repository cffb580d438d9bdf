using System.Globalization;
using System.Text;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>The human form of <c>backup ls</c>: VOLUME ID KIND PARENT CREATED SIZE STATUS, then one line per problem.</summary>
internal static class BackupTable
{
    public static string Format(IReadOnlyList<BackupListItem> items)
    {
        if (items.Count == 0)
        {
            return "no backups\n";
        }

        string[] header = ["VOLUME", "ID", "KIND", "PARENT", "CREATED", "SIZE", "STATUS"];
        var rows = items.Select(i => new[]
        {
            i.Volume, i.Id, i.Kind ?? "-", i.ParentId ?? "-",
            i.CreatedAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-",
            i.Bytes is { } b ? ByteSize.Format((ulong)b) : "-", i.Status,
        }).Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            sb.AppendJoin("   ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).Append('\n');
        }

        foreach (var problem in items.Where(i => i.Problem is not null))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{problem.Id}: {problem.Problem}\n");
        }

        return sb.ToString();
    }
}
