using RbdPlugin.Ceph;
using RbdPlugin.Volumes;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Volumes.Options;

[Trait("Tier", "Fast")]
public sealed class CreateOptionsParserTests
{
    private static readonly VolumeSettings Settings = new()
    {
        Pool = "rbd", AllowedPools = ["rbd", "rbd-extra"], MountRoot = "/m", StateDir = "/s", HostId = "h",
        MaxSizeBytes = 2UL << 40,
    };

    private static VolumeSpec Parse(params (string Key, string Value)[] options) =>
        CreateOptionsParser.Parse(options.ToDictionary(o => o.Key, o => o.Value), Settings, MapperAbilities.Any);

    private static MapperAbilities Krbd(ulong features) => new("krbd", features, IoLimits: false);

    private static string Error(params (string Key, string Value)[] options) =>
        Assert.Throws<VolumeException>(() => Parse(options)).Message;

    [Fact]
    public void Parse_NoOptions_TakesDefaults()
    {
        var spec = CreateOptionsParser.Parse(null, Settings, MapperAbilities.Any);
        Assert.Equal(new VolumeSpec("rbd", 10UL << 30, "ext4", null, null, null, "", ""), spec);
    }

    [Theory]
    [InlineData("10G", 10UL << 30)]
    [InlineData("512MiB", 512UL << 20)]
    [InlineData("1T", 1UL << 40)]
    [InlineData("1073741824", 1UL << 30)]
    [InlineData("1.5G", 3UL << 29)]
    [InlineData("2TB", 2UL << 40)]
    public void Parse_Size_IsBinary(string text, ulong expected) => Assert.Equal(expected, Parse(("size", text)).SizeBytes);

    [Theory]
    [InlineData("0")]
    [InlineData("-1G")]
    [InlineData("ten")]
    [InlineData("10X")]
    [InlineData("")]
    [InlineData("1.0000001K")]
    public void Parse_BadSize_SaysHowToWriteOne(string text) => Assert.Contains("e.g. 10G", Error(("size", text)), StringComparison.Ordinal);

    [Fact]
    public void Parse_SizeOverMaximum_NamesTheSetting() => Assert.Contains("MaxSize", Error(("size", "3T")), StringComparison.Ordinal);

    [Fact]
    public void Parse_TinyXfs_NamesTheMinimum() => Assert.Contains("300M", Error(("fstype", "xfs"), ("size", "100M")), StringComparison.Ordinal);

    [Fact]
    public void Parse_UnknownOption_ListsValidOnes()
    {
        var message = Error(("sise", "10G"));
        Assert.Contains("unknown option 'sise'", message, StringComparison.Ordinal);
        Assert.Contains("size, fstype, pool", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PoolNotAllowed_ListsAllowedPools() =>
        Assert.Contains("rbd, rbd-extra", Error(("pool", "other")), StringComparison.Ordinal);

    [Fact]
    public void Parse_AllowedSecondPool_IsUsed() => Assert.Equal("rbd-extra", Parse(("pool", "rbd-extra")).Pool);

    [Theory]
    [InlineData("btrfs")]
    [InlineData("ext3")]
    public void Parse_UnsupportedFsType_ListsSupported(string fs) => Assert.Contains("ext4, xfs", Error(("fstype", fs)), StringComparison.Ordinal);

    [Fact]
    public void Parse_Features_AreCanonicalised() =>
        Assert.Equal("layering,exclusive-lock", Parse(("features", "exclusive-lock, layering")).Features);

    [Theory]
    [InlineData("layering,warp-drive", "unknown feature 'warp-drive'")]
    [InlineData("layering,object-map", "object-map requires exclusive-lock")]
    [InlineData("exclusive-lock,fast-diff", "fast-diff requires object-map")]
    public void Parse_BadFeatures_Explains(string features, string expected) =>
        Assert.Contains(expected, Error(("features", features)), StringComparison.Ordinal);

    [Fact]
    public void Parse_KrbdWithoutFeatures_AsksOnlyForWhatTheKernelMaps()
    {
        var spec = CreateOptionsParser.Parse(null, Settings, Krbd(RbdFeatures.Layering | RbdFeatures.ExclusiveLock));
        Assert.Equal("layering,exclusive-lock", spec.Features);
    }

    [Fact]
    public void Parse_KrbdWithUnsupportedFeature_NamesIt()
    {
        var e = Assert.Throws<VolumeException>(() => CreateOptionsParser.Parse(
            new Dictionary<string, string> { ["features"] = "layering,journaling,exclusive-lock" }, Settings, Krbd(RbdFeatures.Layering | RbdFeatures.ExclusiveLock)));
        Assert.Contains("cannot map journaling", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4M", 4UL << 20)]
    [InlineData("64K", 64UL << 10)]
    public void Parse_ObjectSize_PowerOfTwo(string text, ulong expected) => Assert.Equal(expected, Parse(("object-size", text)).ObjectSize);

    [Theory]
    [InlineData("3M")]
    [InlineData("64M")]
    [InlineData("1K")]
    public void Parse_BadObjectSize_Explains(string text) => Assert.Contains("power of two", Error(("object-size", text)), StringComparison.Ordinal);

    [Theory]
    [InlineData("-d /etc")]
    [InlineData("-J device=/dev/sda")]
    [InlineData("-J device=LABEL=x")]
    [InlineData("-F")]
    [InlineData("; rm -rf /")]
    [InlineData("-L")]
    [InlineData("-E root_owner=0:0,../x")]
    public void Parse_DangerousMkfsOptions_Refused(string text) =>
        Assert.Contains("mkfs-options", Error(("mkfs-options", text)), StringComparison.Ordinal);

    [Fact]
    public void Parse_SafeMkfsOptions_Canonical() =>
        Assert.Equal("-m 0 -L data -O ^has_journal", Parse(("mkfs-options", "  -m 0   -L data -O ^has_journal ")).MkfsOptions);

    [Theory]
    [InlineData("bind")]
    [InlineData("remount")]
    [InlineData("context=system_u")]
    [InlineData("data=/etc")]
    [InlineData("x-systemd.automount")]
    public void Parse_DangerousMountOptions_Refused(string text) =>
        Assert.Contains("mount-options", Error(("mount-options", text)), StringComparison.Ordinal);

    [Fact]
    public void Parse_MountOptions_Canonical() =>
        Assert.Equal("noatime,data=writeback,commit=30", Parse(("mount-options", "noatime, data=writeback,,commit=30")).MountOptions);

    [Fact]
    public void Parse_XfsMountOptionOnExt4_Refused() =>
        Assert.Contains("not an allowed ext4 mount option", Error(("mount-options", "nouuid")), StringComparison.Ordinal);

    [Fact]
    public void Parse_DataPool_Checked()
    {
        Assert.Equal("ec-data", Parse(("data-pool", "ec-data")).DataPool);
        Assert.Contains("data-pool", Error(("data-pool", "a/b")), StringComparison.Ordinal);
    }
}
