using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Operations;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Options;

/// <summary>Per-volume I/O limits over fakes: the options, what lands in the image's metadata and the record, the
/// refusal on a mapper that cannot enforce them, clones, and <c>volume limit</c>.</summary>
[Trait("Tier", "Fast")]
public sealed class IoLimitsTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly ImageRef Db1 = new("rbd", "", "db1");
    private readonly DriverHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static Dictionary<string, string> Opts(params (string Key, string Value)[] options) => options.ToDictionary(o => o.Key, o => o.Value);

    private IReadOnlyDictionary<string, string> MetadataOf(ImageRef image) => _h.Ceph.Images[image].Metadata;

    [Fact]
    public void Parse_EveryLimit_CountsAndSizesPerSecond_ZeroIsNone()
    {
        var spec = CreateOptionsParser.Parse(Opts(("iops-limit", "500"), ("bps-limit", "10M"), ("read-iops-limit", "300"),
            ("write-iops-limit", "200"), ("read-bps-limit", "1G"), ("write-bps-limit", "0")), _h.Settings, MapperAbilities.Any);

        Assert.Equal(new IoLimits(500, 10UL << 20, 300, 200, 1UL << 30, null), spec.Limits);
        Assert.Null(CreateOptionsParser.Parse(Opts(("iops-limit", "0")), _h.Settings, MapperAbilities.Any).Limits);
        Assert.Null(CreateOptionsParser.Parse(null, _h.Settings, MapperAbilities.Any).Limits);
    }

    [Theory]
    [InlineData("iops-limit", "fast")]
    [InlineData("iops-limit", "-5")]
    [InlineData("iops-limit", "1.5")]
    [InlineData("iops-limit", "10M")]
    [InlineData("bps-limit", "10Q")]
    [InlineData("write-bps-limit", "")]
    public void Parse_BadValue_NamesTheOptionAndWhatToGive(string option, string value)
    {
        var e = Assert.Throws<VolumeException>(() => CreateOptionsParser.Parse(Opts((option, value)), _h.Settings, MapperAbilities.Any));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains($"invalid option {option}={value}", e.Message, StringComparison.Ordinal);
        Assert.Contains("0 for no limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WithLimits_ImageCarriesLibrbdSettingsAndRecord()
    {
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500"), ("write-bps-limit", "20M")), None);

        var metadata = MetadataOf(Db1);
        Assert.Equal("500", metadata["conf_rbd_qos_iops_limit"]);
        Assert.Equal((20UL << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), metadata["conf_rbd_qos_write_bps_limit"]);
        Assert.False(metadata.ContainsKey("conf_rbd_qos_bps_limit"));
        var record = VolumeRecord.FromJson(metadata[VolumeRecord.MetadataKey])!;
        Assert.Equal(new IoLimits(Iops: 500, WriteBps: 20UL << 20), record.Limits);
    }

    [Fact]
    public async Task Create_AgainWithOtherLimits_ConflictNamingThem_SameLimitsIdempotent()
    {
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500")), None);

        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500")), None);
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", Opts(("iops-limit", "900")), None));

        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("I/O limits (iops-limit=500 here, iops-limit=900 asked)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WithLimitsOnAMapperWithoutThem_RefusedNamingTheMappersThatCan_NothingCreated()
    {
        using var krbd = new DriverHarness(ioLimits: false);

        var e = await Assert.ThrowsAsync<VolumeException>(() => krbd.Driver.CreateAsync("db1", Opts(("iops-limit", "500")), None));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("rbd-nbd or rbd-fuse", e.Message, StringComparison.Ordinal);
        Assert.Contains("--device-write-iops", e.Message, StringComparison.Ordinal);
        Assert.Empty(krbd.Ceph.Images);
        await krbd.Driver.CreateAsync("db1", Opts(("iops-limit", "0")), None); // no limit: fine there
    }

    [Fact]
    public async Task Mount_LimitedVolumeOnAMapperWithoutThem_RefusedBeforeAnyLeaseOrMap()
    {
        using var krbd = new DriverHarness(ioLimits: false);
        var record = new VolumeRecord("db1", "", CreateOptionsParser.Parse(Opts(("bps-limit", "50M")), krbd.Settings, MapperAbilities.Any),
            krbd.Time.GetUtcNow(), "host-b");
        await krbd.Ceph.CreateImageAsync(record.ToCreateRequest(), None);
        await krbd.Get<VolumeCatalog>().PutAsync(record, None);

        var e = await Assert.ThrowsAsync<VolumeException>(() => krbd.Driver.MountAsync("db1", "m1", None));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("rbd-plugin volume limit db1 bps-limit=0", e.Message, StringComparison.Ordinal);
        Assert.Empty(krbd.Host.Mapped);
        Assert.Empty(krbd.Ceph.Locks);
    }

    [Fact]
    public async Task Clone_InheritsTheSourcesLimitsNow_GivenOnesReplaceThem_ImageMetadataMatchesExactly()
    {
        await _h.Driver.CreateAsync("src", Opts(("iops-limit", "500"), ("bps-limit", "10M")), None);
        await _h.Get<VolumeLimiter>().LimitAsync("src", Opts(("read-iops-limit", "100")), None);
        await _h.Ceph.CreateSnapshotAsync(new ImageRef("rbd", "", "src"), "s1", None);

        await _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@s1")), None);
        await _h.Driver.CreateAsync("c2", Opts(("from-snapshot", "src@s1"), ("iops-limit", "0"), ("write-iops-limit", "50")), None);

        var c1 = await _h.Get<VolumeCatalog>().GetAsync("c1", None);
        var c2 = await _h.Get<VolumeCatalog>().GetAsync("c2", None);
        Assert.Equal(new IoLimits(Iops: 500, Bps: 10UL << 20, ReadIops: 100), c1!.Limits);
        Assert.Equal(new IoLimits(Bps: 10UL << 20, ReadIops: 100, WriteIops: 50), c2!.Limits);
        // The fake copies the parent's metadata into a clone, as librbd does: the inherited iops setting must be gone.
        var metadata = MetadataOf(new ImageRef("rbd", "", "c2"));
        Assert.False(metadata.ContainsKey("conf_rbd_qos_iops_limit"));
        Assert.Equal("50", metadata["conf_rbd_qos_write_iops_limit"]);
    }

    [Fact]
    public async Task Limit_ChangesNamedLimitsKeepsOthers_ImageIndexAndStatusAgree_CreateStaysIdempotent()
    {
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500"), ("bps-limit", "10M")), None);

        var (record, before) = await _h.Get<VolumeLimiter>().LimitAsync("db1", Opts(("iops-limit", "1000"), ("bps-limit", "0")), None);

        Assert.Equal(new IoLimits(Iops: 500, Bps: 10UL << 20), before);
        Assert.Equal(new IoLimits(Iops: 1000), record.Limits);
        Assert.Equal(record.Limits, (await _h.Get<VolumeCatalog>().GetAsync("db1", None))!.Limits);
        var metadata = MetadataOf(Db1);
        Assert.Equal("1000", metadata["conf_rbd_qos_iops_limit"]);
        Assert.False(metadata.ContainsKey("conf_rbd_qos_bps_limit"));
        Assert.Equal(record.Limits, VolumeRecord.FromJson(metadata[VolumeRecord.MetadataKey])!.Limits);
        var status = (await _h.Driver.GetAsync("db1", None))!.Status;
        Assert.Equal(new Dictionary<string, ulong> { ["iops-limit"] = 1000 }, status["limits"]);
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500"), ("bps-limit", "10M")), None); // the creation options still match
    }

    [Fact]
    public async Task Limit_AllRemoved_RecordSaysNoneRatherThanTheCreationLimits()
    {
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500")), None);

        var (record, _) = await _h.Get<VolumeLimiter>().LimitAsync("db1", Opts(("iops-limit", "0")), None);

        Assert.True(record.Limits.IsNone);
        Assert.True((await _h.Get<VolumeCatalog>().GetAsync("db1", None))!.Limits.IsNone);
        Assert.False(MetadataOf(Db1).ContainsKey("conf_rbd_qos_iops_limit"));
        Assert.False((await _h.Driver.GetAsync("db1", None))!.Status.ContainsKey("limits"));
    }

    [Theory]
    [InlineData("size", "20G", "'size' is no I/O limit")]
    [InlineData("iops-limit", "lots", "invalid option iops-limit=lots")]
    public async Task Limit_BadInput_ClearErrorAndNothingChanged(string key, string value, string expected)
    {
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500")), None);
        var metadataBefore = MetadataOf(Db1);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Get<VolumeLimiter>().LimitAsync("db1", Opts((key, value)), None));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Same(metadataBefore, MetadataOf(Db1));
    }

    [Fact]
    public async Task Limit_NoSuchVolume_NotFound() =>
        Assert.Equal(VolumeErrorKind.NotFound,
            (await Assert.ThrowsAsync<VolumeException>(() => _h.Get<VolumeLimiter>().LimitAsync("nope", Opts(("iops-limit", "1")), None))).Kind);

    [Fact]
    public async Task StoredSpec_WithLimits_Trusted()
    {
        await _h.Driver.CreateAsync("db1", Opts(("iops-limit", "500"), ("read-bps-limit", "1M")), None);

        var record = await _h.Get<VolumeCatalog>().GetAsync("db1", None);

        Assert.Null(StoredSpec.Problem(record!.Spec, _h.Settings));
    }

    [Fact]
    public void Describe_ShowsBytesWithUnits() =>
        Assert.Equal("iops-limit=500 bps-limit=10M", new IoLimits(Iops: 500, Bps: 10UL << 20).ToString());

    [Fact]
    public void LimitedResult_Text_SaysWhatChangedAndWhere()
    {
        var text = RbdPlugin.Cli.SnapshotCommand.DescribeLimited(new VolumeLimited("db1", new Dictionary<string, ulong> { ["iops-limit"] = 500 },
            new Dictionary<string, ulong> { ["iops-limit"] = 1000, ["bps-limit"] = 1UL << 20 }, true, "host-a"));

        Assert.Equal("volume db1: iops-limit=1000 bps-limit=1M (was iops-limit=500); mounted on host host-a, which applies them now (rbd-nbd, rbd-fuse)\n", text);
    }
}
