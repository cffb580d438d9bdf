using System.Buffers.Binary;
using System.Text;

namespace RbdPlugin.Ceph;

/// <summary>
/// Where RBD image format 2 keeps an image's size and features (cls_rbd's on-disk layout, unchanged since format 2
/// came): the pool's (or namespace's) <c>rbd_directory</c> maps <c>name_NAME</c> to the image id, a u32-length-prefixed
/// string; <c>rbd_header.ID</c> keeps <c>size</c> and <c>features</c> as little-endian u64 omap values.
/// Every decoder answers null for anything it does not recognise, so the caller can fall back to opening the image.
/// </summary>
internal static class ImageHeaderLayout
{
    public const string DirectoryObject = "rbd_directory";
    public const string SizeKey = "size";
    public const string FeaturesKey = "features";

    public static string DirectoryKey(string imageName) => "name_" + imageName;

    public static string HeaderObject(string imageId) => "rbd_header." + imageId;

    /// <summary>The image id from a directory value; null unless it is exactly one length-prefixed, non-empty string.</summary>
    public static string? DecodeId(ReadOnlySpan<byte> value)
    {
        if (value.Length < 5)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(value);
        return length == (uint)(value.Length - 4) ? Encoding.UTF8.GetString(value[4..]) : null;
    }

    /// <summary>A little-endian u64 omap value; null unless it is exactly 8 bytes.</summary>
    public static ulong? DecodeU64(ReadOnlySpan<byte> value) =>
        value.Length == sizeof(ulong) ? BinaryPrimitives.ReadUInt64LittleEndian(value) : null;
}
