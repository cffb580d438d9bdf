using System.Text;

namespace RbdPlugin.Node;

/// <summary>Reads <c>/proc/self/mountinfo</c>: the mounts as this process (and its mount namespace) sees them.</summary>
internal sealed class MountInfoTable(string path = MountInfoTable.DefaultPath) : IMountTable
{
    public const string DefaultPath = "/proc/self/mountinfo";

    public IReadOnlyList<MountEntry> Read() => Parse(File.ReadAllText(path));

    /// <summary>
    /// Parses mountinfo text (proc(5)): "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER".
    /// The kernel escapes space, tab, newline and backslash in paths as \040 \011 \012 \134; we decode them.
    /// Lines that do not have that shape are skipped rather than guessed at.
    /// </summary>
    public static IReadOnlyList<MountEntry> Parse(string text)
    {
        var entries = new List<MountEntry>();
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var separator = fields.Length < 7 ? -1 : Array.IndexOf(fields, "-", 6);
            if (separator < 0 || fields.Length < separator + 3)
            {
                continue;
            }
            entries.Add(new MountEntry(
                Source: Unescape(fields[separator + 2]),
                MountPoint: Unescape(fields[4]),
                FsType: Unescape(fields[separator + 1])));
        }
        return entries;
    }

    /// <summary>
    /// Decodes the kernel's octal escapes (\NNN). The kernel only escapes ASCII characters (space, tab, newline,
    /// backslash), so each escape is one char; a backslash not followed by three octal digits is kept as it is.
    /// </summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }
        var sb = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctalEscape(field, i + 1))
            {
                sb.Append((char)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(field[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctalEscape(string s, int start) =>
        start + 3 <= s.Length && s[start] is >= '0' and <= '3' && s[start + 1] is >= '0' and <= '7' && s[start + 2] is >= '0' and <= '7';
}
