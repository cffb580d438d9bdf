using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
public sealed class LoopDeviceListTests
{
    [Fact]
    public void Parse_FullAndSelectedColumns_ReadsNameAndBackingFile()
    {
        const string json = """
            {
               "loopdevices": [
                  {"name": "/dev/loop0", "sizelimit": 0, "offset": 0, "autoclear": false, "ro": false,
                   "back-file": "/var/lib/rbd-plugin/state/fuse/rbd.vol1/vol1", "dio": true, "log-sec": 512},
                  {"name": "/dev/loop1", "back-file": "/tmp/old.img (deleted)"},
                  {"name": "/dev/loop2", "back-file": null}
               ]
            }
            """;

        Assert.Equal(
            [
                new LoopDevice("/dev/loop0", "/var/lib/rbd-plugin/state/fuse/rbd.vol1/vol1"),
                new LoopDevice("/dev/loop1", "/tmp/old.img"),
            ],
            LoopDeviceList.Parse(json));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\n   \"loopdevices\": [\n\n   ]\n}\n")]
    public void Parse_NoLoopDevices_IsEmpty(string json) => Assert.Empty(LoopDeviceList.Parse(json));

    [Fact]
    public void Parse_UnexpectedShape_Throws() => Assert.Throws<FormatException>(() => LoopDeviceList.Parse("[]"));
}
