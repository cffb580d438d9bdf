using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Ceph;

[Trait("Tier", "Fast")]
public sealed class CephConnectionOptionsTests
{
    private static readonly CephConnectionOptions Valid = new("/etc/ceph/ceph.conf", "docker", "/etc/ceph/k", TimeSpan.FromSeconds(30));

    [Fact]
    public void Validate_Valid_Passes() => Valid.Validate();

    [Fact]
    public void ClientName_PrefixesClient() => Assert.Equal("client.docker", Valid.ClientName);

    [Theory]
    [InlineData("client.docker")]
    [InlineData("")]
    [InlineData(" ")]
    public void Validate_BadClientId_Throws(string id) =>
        Assert.Throws<ArgumentException>(() => (Valid with { ClientId = id }).Validate());

    [Fact]
    public void Validate_SubSecondTimeout_Throws() =>
        Assert.Throws<ArgumentException>(() => (Valid with { OperationTimeout = TimeSpan.FromMilliseconds(500) }).Validate());

    [Theory]
    [InlineData(30_000, "30")]
    [InlineData(1_500, "2")]
    [InlineData(1_000, "1")]
    public void TimeoutSeconds_RoundsUp(int milliseconds, string expected) =>
        Assert.Equal(expected, (Valid with { OperationTimeout = TimeSpan.FromMilliseconds(milliseconds) }).TimeoutSeconds);
}
