using System.Buffers.Binary;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Fakes;

/// <summary>A device's first 4 KiB holding just the superblock fields <see cref="Superblock"/> reads.</summary>
internal static class SuperblockHeads
{
    /// <summary>An ext4 of <paramref name="blocks"/> 4 KiB blocks.</summary>
    public static byte[] Ext4(uint blocks)
    {
        var head = new byte[Superblock.HeadBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(1024 + 0x04), blocks); // s_blocks_count_lo
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(1024 + 0x18), 2);      // s_log_block_size: 1024 << 2
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(1024 + 0x38), 0xEF53); // s_magic
        return head;
    }
}
