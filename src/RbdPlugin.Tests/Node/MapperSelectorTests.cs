using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
public sealed class MapperSelectorTests
{
    private const string All = "rbd,rbd-nbd,rbd-fuse,losetup";

    [Theory]
    //          setting  /sys/bus/rbd  /sys/module/nbd  /dev/fuse  programs         expected
    [InlineData("auto", true, true, true, All, "krbd")]
    [InlineData("auto", false, true, true, All, "nbd")]
    [InlineData("auto", false, false, true, All, "fuse")]
    [InlineData("auto", true, false, true, "rbd-fuse,losetup", "fuse")]
    [InlineData("auto", false, true, true, "rbd,rbd-fuse,losetup", "fuse")]
    [InlineData("AUTO", true, false, false, "rbd", "krbd")]
    [InlineData("krbd", false, false, false, "rbd", "krbd")]
    [InlineData("nbd", false, false, false, "rbd,rbd-nbd", "nbd")]
    [InlineData("fuse", true, true, true, All, "fuse")]
    public void Choose_SettingAndHost_PicksMapper(string setting, bool rbdBus, bool nbdModule, bool fuseDevice, string programs, string expected) =>
        Assert.Equal(expected, MapperSelector.Choose(setting, Host(rbdBus, nbdModule, fuseDevice, programs)));

    [Theory]
    [InlineData("auto", false, false, true, "rbd,rbd-nbd", "install rbd-fuse")]
    [InlineData("auto", false, false, false, All, "modprobe rbd")]
    [InlineData("krbd", true, false, false, "", "install ceph-common")]
    [InlineData("nbd", false, true, false, "rbd", "rbd-nbd")]
    [InlineData("fuse", false, false, false, All, "/dev/fuse")]
    [InlineData("fuse", false, false, true, "rbd", "install rbd-fuse")]
    public void Choose_NothingUsable_ThrowsNamingWhatToInstall(string setting, bool rbdBus, bool nbdModule, bool fuseDevice, string programs, string hint)
    {
        var e = Assert.Throws<InvalidOperationException>(() => MapperSelector.Choose(setting, Host(rbdBus, nbdModule, fuseDevice, programs)));

        Assert.Contains(hint, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    //          mapper  /sys/bus/rbd  /sys/module/nbd  /dev/fuse  programs   expected (what is missing, by its fix)
    [InlineData("krbd", true, false, false, "rbd", "")]
    [InlineData("krbd", false, false, false, "rbd", "modprobe rbd")]
    [InlineData("krbd", true, false, false, "", "install ceph-common")]
    [InlineData("nbd", false, true, false, "rbd", "install rbd-nbd")]
    [InlineData("nbd", false, false, false, "rbd,rbd-nbd", "modprobe nbd")]
    [InlineData("fuse", false, false, true, "rbd-fuse,losetup", "")]
    [InlineData("fuse", false, false, false, "rbd-fuse,losetup", "/dev/fuse")]
    [InlineData("fuse", false, false, true, "rbd-fuse", "install mount")]
    public void Missing_EachMapper_NamesWhatItLacksWithTheFix(string mapper, bool rbdBus, bool nbdModule, bool fuseDevice, string programs, string expected)
    {
        var missing = MapperSelector.Missing(mapper, Host(rbdBus, nbdModule, fuseDevice, programs));

        if (expected.Length == 0)
        {
            Assert.Empty(missing);
        }
        else
        {
            Assert.Contains(missing, m => m.Contains(expected, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Choose_UnknownSetting_ThrowsListingTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => MapperSelector.Choose("iscsi", Host(true, true, true, All)));

        Assert.Contains("auto, krbd, nbd or fuse", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("krbd", typeof(KrbdMapper))]
    [InlineData("nbd", typeof(NbdMapper))]
    [InlineData("fuse", typeof(FuseLoopMapper))]
    public void Select_ExplicitSetting_BuildsThatMapper(string setting, Type expected)
    {
        var selector = new MapperSelector(new FakeCommandRunner(), new CephClientArgs("/c", "docker", "/k"),
            Host(true, true, true, All), new FakeMountTable(), "/var/lib/rbd-plugin/state", TimeProvider.System, NullLogger<FuseLoopMapper>.Instance);

        var mapper = selector.Select(setting);

        Assert.IsType(expected, mapper);
        Assert.Equal(setting, mapper.Name);
    }

    [Theory]
    //          setting  /sys/bus/rbd  /sys/module/nbd  programs                  warned
    [InlineData("auto", false, false, All, true)] // ceph-common there, no module loaded: the production mistake
    [InlineData("auto", false, false, "rbd-fuse,losetup", false)] // a development host without ceph-common
    [InlineData("fuse", false, false, All, false)] // chosen on purpose
    [InlineData("auto", true, false, All, false)] // krbd taken
    public void DoctorMapper_AutoFellBackToFuseWithCephCommonInstalled_WarnsWithTheFixButPasses(
        string setting, bool rbdBus, bool nbdModule, string programs, bool warned)
    {
        var host = Host(rbdBus, nbdModule, fuseDevice: true, programs);

        var check = RbdPlugin.Hosting.DoctorHostChecks.Mapper(new RbdPlugin.Hosting.PluginOptions { Mapper = setting }, host);

        Assert.True(check.Ok);
        Assert.Equal(warned, check.Fix is not null);
        if (warned)
        {
            Assert.Contains("modules-load.d", check.Fix, StringComparison.Ordinal);
            Assert.Contains("Mapper=krbd", check.Fix, StringComparison.Ordinal);
            Assert.StartsWith("WARN  mapper", RbdPlugin.Cli.DoctorCommand.Format([check]), StringComparison.Ordinal);
        }
    }

    private static FakeHostProbe Host(bool rbdBus, bool nbdModule, bool fuseDevice, string programs)
    {
        var host = new FakeHostProbe();
        if (rbdBus) host.Paths.Add(MapperSelector.RbdBusPath);
        if (nbdModule) host.Paths.Add(MapperSelector.NbdModulePath);
        if (fuseDevice) host.Paths.Add(MapperSelector.FuseDevicePath);
        host.Programs.UnionWith(programs.Split(',', StringSplitOptions.RemoveEmptyEntries));
        return host;
    }
}
