using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>The human form of <c>volume ls</c>: aligned columns NAME POOL SIZE USED FSTYPE OWNER MOUNTED CREATED.</summary>
internal static class VolumeTable
{
    public static string Format(IReadOnlyList<VolumeListItem> items) => TextTable.Render(
        ["NAME", "POOL", "SIZE", "USED", "FSTYPE", "OWNER", "MOUNTED", "CREATED"],
        items.Select(i => new[]
        {
            i.Name, i.Pool, i.Size, i.Used ?? "-", i.Fstype,
            i.Owner is null ? "-" : i.Lease == "expired" ? $"{i.Owner} (expired)" : i.Owner,
            i.MountedWhere ?? "-",
            Rfc3339.Format(i.CreatedAt),
        }));
}
