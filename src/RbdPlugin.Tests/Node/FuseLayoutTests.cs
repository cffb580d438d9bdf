using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
public sealed class FuseLayoutTests
{
    private static readonly CephClientArgs Client = new("/etc/ceph/ceph.conf", "docker", "/etc/ceph/docker.keyring");

    [Theory]
    [InlineData("rbd", "", "vol1", "rbd.vol1")]
    [InlineData("rbd", "team-a", "vol1", "rbd.team-a.vol1")]
    [InlineData("rbd.ssd", "", "v.1", "rbd%2Essd.v%2E1")]
    [InlineData("p%", "n/s", "i%2E", "p%25.n%2Fs.i%252E")]
    public void DirName_RoundTripsEvenWithDotsAndPercents(string pool, string ns, string name, string expected)
    {
        var image = new ImageRef(pool, ns, name);

        Assert.Equal(expected, FuseLayout.DirName(image));
        Assert.Equal(image, FuseLayout.ParseDirName(expected));
    }

    [Theory]
    [InlineData("lost+found")]
    [InlineData("a.b.c.d")]
    [InlineData("rbd.")]
    [InlineData(".vol")]
    [InlineData("rbd.vol%2")]
    [InlineData("rbd.vol%41")]
    public void ParseDirName_NotOurs_IsNull(string dirName) => Assert.Null(FuseLayout.ParseDirName(dirName));

    [Fact]
    public void RbdFuseArgs_NoSecretsAndNoIdInArgv() =>
        Assert.Equal(["-c", "/etc/ceph/ceph.conf", "-p", "rbd", "-r", "vol1", "/s/fuse/rbd.vol1"],
            FuseLayout.RbdFuseArgs(Client, new ImageRef("rbd", "", "vol1"), "/s/fuse/rbd.vol1"));

    [Fact]
    public void RbdFuseArgs_Namespace_PassedAsLongOptionNeverDashS() =>
        Assert.Equal(["-c", "/etc/ceph/ceph.conf", "-p", "rbd", "--namespace=team-a", "-r", "vol1", "/d"],
            FuseLayout.RbdFuseArgs(Client, new ImageRef("rbd", "team-a", "vol1"), "/d"));

    [Fact]
    public void CephArgsEnv_CarriesIdAndKeyringPath() =>
        Assert.Equal("--id docker --keyring /etc/ceph/docker.keyring", Client.ToCephArgsEnv());

    [Fact]
    public void CephArgsEnv_PathWithSpace_IsRefused() =>
        Assert.Throws<ArgumentException>(() => (Client with { KeyringPath = "/etc/my keyring" }).ToCephArgsEnv());

    [Fact]
    public void LosetupAttachArgs_DirectIoFirst() =>
        Assert.Equal(["--find", "--show", "--direct-io=on", "/f"], FuseLayout.LosetupAttachArgs("/f", directIo: true));
}
