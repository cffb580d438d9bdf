using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Leases;

/// <summary>Lease and fence records are read back from RADOS objects any host's key can write, and their addresses
/// end up in blocklist commands: only client addresses pass.</summary>
[Trait("Tier", "Fast")]
public sealed class StoredLeaseRecordTests
{
    [Theory]
    [InlineData("127.0.0.1:0/3141592", true)]
    [InlineData("10.1.2.3:6800/42", true)]
    [InlineData("[::1]:0/7", true)]
    [InlineData("127.0.0.1:0/1\", \"prefix\": \"osd pool delete", false)]
    [InlineData("any", false)]
    [InlineData("127.0.0.1:0/1\n", false)]
    [InlineData("", false)]
    public void ClientAddress_OnlyIpPortNonce(string address, bool valid) => Assert.Equal(valid, ClientAddress.IsValid(address));

    [Fact]
    public void LeaseRecord_WithAWriterThatIsNoAddress_IsNoRecord()
    {
        var good = new LeaseRecord("host-b", "host-b/t", "127.0.0.1:0/1", DateTimeOffset.UnixEpoch, null, ["127.0.0.1:0/2"]);
        var hostile = good with { Writers = ["127.0.0.1:0/2", "10.0.0.1:0/3\"}"] };

        var read = LeaseRecord.FromJson(good.ToJson());
        Assert.Equal(good.Address, read!.Address);
        Assert.Equal(good.Writers, read.Writers);
        Assert.Null(LeaseRecord.FromJson(hostile.ToJson()));
        Assert.Null(LeaseRecord.FromJson((good with { Address = "host-b" }).ToJson()));
    }

    [Fact]
    public void FenceRecord_NamingNoAddress_IsDropped()
    {
        var good = new FenceRecord("127.0.0.1:0/1", "host-a", "db1", DateTimeOffset.UnixEpoch, "host-b", DateTimeOffset.UnixEpoch.AddYears(10));

        Assert.Equal(good, FenceRecord.FromJson(good.ToJson()));
        Assert.Null(FenceRecord.FromJson((good with { Address = "x\", \"blocklistop\": \"clear" }).ToJson()));
    }
}
