using System.Buffers.Binary;

namespace RbdPlugin.Node;

/// <summary>
/// The size a filesystem claims in its superblock, read straight from the device's first 4 KiB (no tool to spawn on
/// every mount). ext4 (superblock at 1024, little-endian; struct ext4_super_block in the kernel's fs/ext4/ext4.h) and
/// xfs (superblock at 0, big-endian; struct xfs_dsb in fs/xfs/libxfs/xfs_format.h).
/// </summary>
internal static class Superblock
{
    /// <summary>Bytes to read from the start of the device to cover both superblocks.</summary>
    public const int HeadBytes = 4096;

    private const int Ext4Offset = 1024;
    private const ushort Ext4Magic = 0xEF53;
    private const uint Ext4Incompat64Bit = 0x80;
    private const uint XfsMagic = 0x58465342; // "XFSB"

    /// <summary>Data size in bytes of the ext4 or xfs filesystem at the start of <paramref name="head"/>; null when it is not one.</summary>
    public static ulong? SizeOf(ReadOnlySpan<byte> head, string fsType) => fsType switch
    {
        "ext4" => Ext4(head),
        "xfs" => Xfs(head),
        _ => null,
    };

    private static ulong? Ext4(ReadOnlySpan<byte> head)
    {
        if (head.Length < Ext4Offset + 0x154)
        {
            return null;
        }

        var sb = head[Ext4Offset..];
        if (BinaryPrimitives.ReadUInt16LittleEndian(sb[0x38..]) != Ext4Magic)
        {
            return null;
        }

        ulong blocks = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x04..]);           // s_blocks_count_lo
        var logBlockSize = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x18..]);       // s_log_block_size
        if ((BinaryPrimitives.ReadUInt32LittleEndian(sb[0x60..]) & Ext4Incompat64Bit) != 0) // s_feature_incompat
        {
            blocks |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x150..]) << 32;  // s_blocks_count_hi
        }

        return logBlockSize > 16 ? null : blocks * (1024UL << (int)logBlockSize);
    }

    private static ulong? Xfs(ReadOnlySpan<byte> head)
    {
        if (head.Length < 16 || BinaryPrimitives.ReadUInt32BigEndian(head) != XfsMagic)
        {
            return null;
        }

        var blockSize = BinaryPrimitives.ReadUInt32BigEndian(head[4..]); // sb_blocksize
        var blocks = BinaryPrimitives.ReadUInt64BigEndian(head[8..]);    // sb_dblocks
        return blocks * blockSize;
    }
}
