using System.Globalization;

namespace RbdPlugin.Volumes;

/// <summary>The one way times are written for people and scripts: RFC 3339 in UTC, whole seconds ("2026-05-01T10:00:00Z").</summary>
internal static class Rfc3339
{
    public static string Format(DateTimeOffset when) => when.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
