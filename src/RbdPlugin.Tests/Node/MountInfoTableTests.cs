using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
public sealed class MountInfoTableTests
{
    [Fact]
    public void Parse_TypicalLines_ReadsSourceMountPointAndType()
    {
        const string text = """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
            42 26 0:38 / /var/lib/rbd-plugin/state/fuse/rbd.vol1 rw,nosuid,nodev,relatime - fuse.rbd-fuse rbd-fuse rw,user_id=0,group_id=0
            43 22 7:0 / /var/lib/rbd-plugin/mounts/vol1 rw,relatime shared:5 master:2 - ext4 /dev/loop0 rw
            """;

        var entries = MountInfoTable.Parse(text);

        Assert.Equal(
            [
                new MountEntry("/dev/sda1", "/", "ext4"),
                new MountEntry("rbd-fuse", "/var/lib/rbd-plugin/state/fuse/rbd.vol1", "fuse.rbd-fuse"),
                new MountEntry("/dev/loop0", "/var/lib/rbd-plugin/mounts/vol1", "ext4"),
            ],
            entries);
    }

    [Theory]
    [InlineData(@"/mnt/with\040space", "/mnt/with space")]
    [InlineData(@"/mnt/tab\011here", "/mnt/tab\there")]
    [InlineData(@"/mnt/new\012line", "/mnt/new\nline")]
    [InlineData(@"/mnt/back\134slash", @"/mnt/back\slash")]
    [InlineData(@"/mnt/\040\040two", "/mnt/  two")]
    [InlineData(@"/mnt/not\04escape", @"/mnt/not\04escape")]
    [InlineData(@"/mnt/trailing\", @"/mnt/trailing\")]
    [InlineData("/mnt/plain", "/mnt/plain")]
    public void Unescape_OctalEscapes_AreDecoded(string field, string expected) =>
        Assert.Equal(expected, MountInfoTable.Unescape(field));

    [Fact]
    public void Parse_EscapedMountPointAndSource_AreDecoded()
    {
        var entries = MountInfoTable.Parse(@"50 22 7:1 / /mnt/my\040vol rw - xfs /dev/disk\040x rw" + "\n");

        Assert.Equal([new MountEntry("/dev/disk x", "/mnt/my vol", "xfs")], entries);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("1 2 3:4 / /x rw shared:1 no-separator ext4 /dev/x rw")]
    [InlineData("1 2 3:4 / /x rw -")]
    public void Parse_MalformedLines_AreSkipped(string text) => Assert.Empty(MountInfoTable.Parse(text));

    [Fact]
    public void Read_ThisProcess_SeesTheRootMount()
    {
        var entries = new MountInfoTable().Read();

        Assert.Contains(entries, e => e.MountPoint == "/");
    }
}
