using System.Globalization;
using System.Text;
using RbdPlugin.Backups;
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

        var sb = new StringBuilder(TextTable.Render(["VOLUME", "ID", "KIND", "PARENT", "CREATED", "SIZE", "STATUS"], items.Select(i => new[]
        {
            i.Volume, i.Id, i.Kind ?? "-", i.ParentId ?? "-", i.CreatedAt is { } at ? Rfc3339.Format(at) : "-",
            i.Bytes is { } b ? Approximate(b) : "-", i.Status,
        })));
        foreach (var problem in items.Where(i => i.Problem is not null))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{problem.Id}: {problem.Problem}\n");
        }

        return sb.ToString();
    }

    /// <summary>A data file's size for humans, to one decimal: 1048884 → "1.0M" (the exact count is in --json).</summary>
    public static string Approximate(long bytes)
    {
        var units = new[] { "", "K", "M", "G", "T", "P" };
        var unit = 0;
        var value = (double)bytes;
        for (; value >= 1024 && unit < units.Length - 1; unit++)
        {
            value /= 1024;
        }

        return unit == 0 ? bytes.ToString(CultureInfo.InvariantCulture) : value.ToString("0.0", CultureInfo.InvariantCulture) + units[unit];
    }
}
