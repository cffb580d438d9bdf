using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Ceph;

[Trait("Tier", "Fast")]
public sealed class ImageHeaderLayoutTests
{
    [Fact]
    public void DecodeId_LengthPrefixedString_ReturnsTheId()
    {
        // As `rados getomapval rbd_directory name_IMAGE` shows it on the dev cluster.
        byte[] value = [0x0c, 0, 0, 0, .. "101c53422a2e"u8];

        Assert.Equal("101c53422a2e", ImageHeaderLayout.DecodeId(value));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 4, 0, 0, 0 })] // empty id
    [InlineData(new byte[] { 5, 0, 0, 0, 0x61 })] // length says more than there is
    [InlineData(new byte[] { 1, 0, 0, 0, 0x61, 0x62 })] // trailing bytes
    public void DecodeId_AnythingElse_ReturnsNull(byte[] value)
    {
        Assert.Null(ImageHeaderLayout.DecodeId(value));
    }

    [Fact]
    public void DecodeU64_EightBytes_IsLittleEndian()
    {
        Assert.Equal(2UL << 30, ImageHeaderLayout.DecodeU64([0, 0, 0, 0x80, 0, 0, 0, 0]));
        Assert.Equal(0x3dUL, ImageHeaderLayout.DecodeU64([0x3d, 0, 0, 0, 0, 0, 0, 0]));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x16 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void DecodeU64_WrongLength_ReturnsNull(byte[] value)
    {
        Assert.Null(ImageHeaderLayout.DecodeU64(value));
    }

    [Fact]
    public void Names_AreCephsOwn()
    {
        Assert.Equal("name_db1", ImageHeaderLayout.DirectoryKey("db1"));
        Assert.Equal("rbd_header.101c53422a2e", ImageHeaderLayout.HeaderObject("101c53422a2e"));
    }
}
