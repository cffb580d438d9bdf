using System.Buffers.Binary;
using System.Text;

namespace RbdPlugin.Backups;

/// <summary>
/// The head of an <c>rbd export-diff</c> stream (format "rbd diff v1"): the snapshot it starts from (none for a
/// full diff), the snapshot it ends at and the image size. Reading it ties a data file to its place in the chain:
/// a file whose snapshots do not match its manifest is refused before <c>rbd import-diff</c> could half-apply it.
/// Layout: the magic line, then tagged records — 'f' u32 length + name, 't' u32 length + name, 's' u64 size (all
/// little-endian) — before the first data record ('w', 'z') or the end ('e').
/// </summary>
internal sealed record RbdDiffHeader(string? FromSnapshot, string ToSnapshot, ulong SizeBytes)
{
    public const string Magic = "rbd diff v1\n";

    /// <summary>Enough bytes for the magic and the three header records with names of any sane length.</summary>
    public const int MaxLength = 4096;

    /// <summary>Reads the header from the start of a file; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static RbdDiffHeader Read(string path)
    {
        using var file = File.OpenRead(path);
        var buffer = new byte[MaxLength];
        var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        return Parse(buffer.AsSpan(0, read));
    }

    public static RbdDiffHeader Parse(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.StartsWith(Encoding.ASCII.GetBytes(Magic)))
        {
            throw new FormatException("it does not start with \"rbd diff v1\": not an rbd export-diff file");
        }

        string? from = null, to = null;
        ulong? size = null;
        var at = Magic.Length;
        while (true)
        {
            if (at >= bytes.Length)
            {
                throw new FormatException("its header ends early (truncated)");
            }

            var tag = (char)bytes[at++];
            switch (tag)
            {
                case 'f':
                    from = Name(bytes, ref at);
                    break;
                case 't':
                    to = Name(bytes, ref at);
                    break;
                case 's':
                    size = BinaryPrimitives.ReadUInt64LittleEndian(Take(bytes, ref at, 8));
                    break;
                case 'w' or 'z' or 'e':
                    return new RbdDiffHeader(from,
                        to ?? throw new FormatException("its header names no end snapshot"),
                        size ?? throw new FormatException("its header has no image size"));
                default:
                    throw new FormatException($"unknown record '{tag}' in its header");
            }
        }
    }

    private static string Name(ReadOnlySpan<byte> bytes, ref int at)
    {
        var length = BinaryPrimitives.ReadUInt32LittleEndian(Take(bytes, ref at, 4));
        return length > MaxLength ? throw new FormatException("a snapshot name in its header is too long") : Encoding.UTF8.GetString(Take(bytes, ref at, (int)length));
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> bytes, ref int at, int count)
    {
        if (at + count > bytes.Length)
        {
            throw new FormatException("its header ends early (truncated)");
        }

        var slice = bytes.Slice(at, count);
        at += count;
        return slice;
    }
}
