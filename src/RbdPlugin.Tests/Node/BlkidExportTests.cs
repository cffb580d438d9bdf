using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
public sealed class BlkidExportTests
{
    [Theory]
    [InlineData("DEVNAME=/dev/loop0\nUUID=c0f0\nVERSION=1.0\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n", "ext4")]
    [InlineData("DEVNAME=/dev/loop0\nUUID=1b2c\nBLOCK_SIZE=512\nTYPE=xfs\nUSAGE=filesystem\n", "xfs")]
    [InlineData("DEVNAME=/dev/loop1\nPTUUID=5a1e0c6d\nPTTYPE=dos\n", "dos")]
    [InlineData("DEVNAME=/dev/loop1\nPTUUID=8e3d-11\nPTTYPE=gpt\n", "gpt")]
    [InlineData("DEVNAME=/dev/sdb\nUUID=x\nTYPE=LVM2_member\nUSAGE=raid\n", "LVM2_member")]
    [InlineData("DEVNAME=/dev/sdb\nTYPE=swap\n", "swap")]
    [InlineData("DEVNAME=/dev/sdb\nUSAGE=other\n", BlkidExport.Unknown)]
    [InlineData("", BlkidExport.Unknown)]
    public void Signature_ReportsTypeThenPartitionTableAndNeverNull(string export, string expected) =>
        Assert.Equal(expected, BlkidExport.Signature(export));

    [Fact]
    public void Parse_ValueContainingEquals_KeepsTheRest() =>
        Assert.Equal("a=b", BlkidExport.Parse("LABEL=a=b\n")["LABEL"]);
}
