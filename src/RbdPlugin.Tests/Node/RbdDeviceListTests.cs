using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
public sealed class RbdDeviceListTests
{
    [Fact]
    public void Parse_KrbdOutput_ReadsNameAndStringId()
    {
        const string json = """
            [{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"-","device":"/dev/rbd0"},
             {"id":"1","pool":"rbd","namespace":"team-a","name":"vol2","snap":"-","device":"/dev/rbd1"},
             {"id":"2","pool":"rbd","namespace":"","name":"vol1","snap":"snap1","device":"/dev/rbd2"}]
            """;

        Assert.Equal(
            [
                new RbdDeviceEntry("0", new ImageRef("rbd", "", "vol1"), "", "/dev/rbd0"),
                new RbdDeviceEntry("1", new ImageRef("rbd", "team-a", "vol2"), "", "/dev/rbd1"),
                new RbdDeviceEntry("2", new ImageRef("rbd", "", "vol1"), "snap1", "/dev/rbd2"),
            ],
            RbdDeviceList.Parse(json));
    }

    [Fact]
    public void Parse_NbdOutput_ReadsImageAndNumericId()
    {
        const string json = """
            [{"id":48213,"pool":"rbd","namespace":"","image":"vol1","snap":"","device":"/dev/nbd0","cookie":"c0"}]
            """;

        Assert.Equal([new RbdDeviceEntry("48213", new ImageRef("rbd", "", "vol1"), "", "/dev/nbd0", "c0")], RbdDeviceList.Parse(json));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n")]
    [InlineData("[]")]
    public void Parse_NothingMapped_IsEmpty(string json) => Assert.Empty(RbdDeviceList.Parse(json));

    [Fact]
    public void Parse_NotAnArray_Throws() => Assert.Throws<FormatException>(() => RbdDeviceList.Parse("{}"));
}
