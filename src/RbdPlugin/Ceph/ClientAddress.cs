using System.Text.RegularExpressions;

namespace RbdPlugin.Ceph;

/// <summary>
/// A Ceph client's address as watcher and locker lists and the blocklist spell it: "IP:PORT/NONCE" (IPv6 in
/// brackets). Addresses read back from RADOS objects any host's key can write (lease and fence records) are only
/// used when they have this shape: they end up in blocklist commands.
/// </summary>
internal static partial class ClientAddress
{
    [GeneratedRegex(@"^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}/[0-9]{1,20}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? address) => address is not null && Pattern().IsMatch(address);
}
