using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Catalog;

/// <summary>
/// Invariant 9: a volume record read back from Ceph (the index's omap, an image's metadata) is no more trusted than
/// Docker's own options. Any host's key can write the index, so a record that Create would have refused makes the
/// verb fail with Damaged, naming the volume and the problem, before anything is mapped, formatted or leased.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class HostileRecordTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private static string IndexKey => $"rbd//{VolumeCatalog.IndexObject}";

    /// <summary>Creates <paramref name="name"/> through the driver and returns its good record.</summary>
    private async Task<VolumeRecord> CreateAsync(string name, string fsType = "ext4")
    {
        await _h.Driver.CreateAsync(name, new Dictionary<string, string> { ["size"] = "1G", ["fstype"] = fsType }, _ct);
        return (await _h.Get<VolumeCatalog>().GetAsync(name, _ct))!;
    }

    /// <summary>Overwrites the index entry under <paramref name="key"/> as a hostile host would.</summary>
    private void WriteIndex(string key, string json) => _h.Ceph.Objects[IndexKey][key] = json;

    private void WriteIndex(string key, VolumeRecord record) => WriteIndex(key, record.ToJson());

    public static TheoryData<string, string, string, string> HostileSpecs => new()
    {
        // fstype, mkfs-options, mount-options, what the error names
        { "ext4", "-d /etc", "", "'-d' is not an allowed mkfs.ext4 flag" },
        { "xfs", "-l logdev=/dev/sda", "", "value 'logdev=/dev/sda' of '-l' is not allowed" },
        { "xfs", "-l logdev=sda", "", "value 'logdev=sda' of '-l' is not allowed" },
        { "ext4", "-J device=LABEL=x", "", "value 'device=LABEL=x' of '-J' is not allowed" },
        { "ext4", "", "bind", "'bind' is not an allowed ext4 mount option" },
        { "ext4", "", "context=system_u:object_r:etc_t:s0", "'context' is not an allowed ext4 mount option" },
        { "btrfs", "", "", "fstype=btrfs" },
    };

    [Theory]
    [MemberData(nameof(HostileSpecs))]
    public async Task Mount_RecordWithOptionsCreateRefuses_DamagedAndNothingMappedFormattedOrLeased(string fsType, string mkfs, string mount, string named)
    {
        // Arrange
        var good = await CreateAsync("db1");
        WriteIndex("db1", good with { Spec = good.Spec with { FsType = fsType, MkfsOptions = mkfs, MountOptions = mount } });
        var callsBefore = _h.Ceph.Calls.Count;

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        // Assert
        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.StartsWith("volume db1: its record in the volume index is not trusted", e.Message, StringComparison.Ordinal);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", e.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Host.Log); // no map, no probe, no mkfs, no mount
        Assert.Null(_h.Journal.Get("db1"));
        Assert.DoesNotContain("LockExclusive", _h.Ceph.Calls.Skip(callsBefore)); // no lease taken
    }

    public static TheoryData<string, string> HostileFields => new()
    {
        // a record of volume db1 with one field changed, and what the error names
        { """{"spec":{"sizeBytes":0}}""", "size" },
        { """{"spec":{"sizeBytes":1049576}}""", "multiple of 512" },
        { """{"spec":{"objectSize":3000}}""", "object-size" },
        { """{"spec":{"features":"layering,teleport"}}""", "unknown feature 'teleport'" },
        { """{"spec":{"features":"layering,object-map"}}""", "object-map requires exclusive-lock" },
        { """{"spec":{"pool":"secrets"}}""", "pool=secrets" },
        { """{"spec":{"dataPool":"../x"}}""", "data-pool" },
        { """{"spec":{"fromSnapshot":"db1@x/y"}}""", "from-snapshot" },
        { """{"namespace":"tenant2"}""", "namespace \"tenant2\"" },
        { """{"createdBy":"host\nINFO forged log line"}""", "createdBy" },
        { """{"resizedTo":1001}""", "resizedTo" },
    };

    [Theory]
    [MemberData(nameof(HostileFields))]
    public async Task Mount_RecordWithAnInsaneField_DamagedNamingIt(string change, string named)
    {
        var good = await CreateAsync("db1");
        WriteIndex("db1", Merge(good.ToJson(), change));

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message); // what a record holds is shown escaped, never as raw control characters
        Assert.Empty(_h.Host.Log);
    }

    [Fact]
    public async Task Mount_RecordUnderKeyANamingVolumeB_RefusedAndBNeverMapped()
    {
        // Arrange: two real volumes; a's entry now holds b's record, so a Mount of "a" would map image b.
        await CreateAsync("a");
        var b = await CreateAsync("b");
        WriteIndex("a", b);

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("a", IdA, _ct));

        // Assert
        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains("it names volume \"b\", but it is the entry of \"a\"", e.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Host.Mapped);
        Assert.Empty(_h.Host.Log);
    }

    [Theory]
    [InlineData("../../etc")]
    [InlineData("a\n")]
    [InlineData("")]
    public async Task Mount_RecordWithAnUnusableName_RefusedBeforeAnyPathIsBuilt(string name)
    {
        var good = await CreateAsync("a");
        WriteIndex("a", good with { Name = name });

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("a", IdA, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains("is not a valid volume name", e.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Host.Log);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("""{"name":"db1"}""")]
    [InlineData("null")]
    public async Task Mount_RecordThatIsNotARecord_DamagedNotNoSuchVolume(string json)
    {
        await CreateAsync("db1");
        WriteIndex("db1", json);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Empty(_h.Host.Log);
    }

    [Fact]
    public async Task Remove_RecordNamingAnotherVolume_RefusedAndTheOtherImageKept()
    {
        await CreateAsync("a");
        var b = await CreateAsync("b");
        WriteIndex("a", b);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.RemoveAsync("a", _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains(new ImageRef("rbd", "", "b"), _h.Ceph.Images.Keys);
        Assert.Contains(new ImageRef("rbd", "", "a"), _h.Ceph.Images.Keys);
        Assert.Empty(_h.Ceph.Trash);
    }

    [Fact]
    public async Task Create_OverAHostileRecord_DamagedAndTheEntryLeftForTheOperator()
    {
        var good = await CreateAsync("db1");
        var hostile = (good with { Spec = good.Spec with { MkfsOptions = "-d /etc" } }).ToJson();
        WriteIndex("db1", hostile);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["size"] = "1G" }, _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Equal(hostile, _h.Ceph.Objects[IndexKey]["db1"]);
    }

    [Fact]
    public async Task Get_HostileRecord_DamagedWithTheReasonInsteadOfACrash()
    {
        var good = await CreateAsync("db1");
        WriteIndex("db1", good with { Spec = good.Spec with { MountOptions = "bind" } });

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.GetAsync("db1", _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains("'bind'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_HostileRecord_StillListedByNameForDocker()
    {
        var good = await CreateAsync("db1");
        await CreateAsync("db2");
        WriteIndex("db1", good with { Spec = good.Spec with { MountOptions = "bind" } });

        var listed = await _h.Driver.ListAsync(_ct);

        Assert.Equal(["db1", "db2"], listed.Select(v => v.Name));
    }

    [Fact]
    public async Task CliList_HostileRecord_SkippedWithAWarningTheOthersListed()
    {
        var good = await CreateAsync("db1");
        await CreateAsync("db2");
        WriteIndex("db1", good with { Spec = good.Spec with { MkfsOptions = "-d /etc" } });

        var listed = await _h.Get<VolumeCatalog>().ListAsync(_ct);

        Assert.Equal(["db2"], listed.Select(r => r.Name));
    }

    [Fact]
    public async Task Create_ImageLeftByACrashCarriesAHostileRecord_DamagedAndNotAdopted()
    {
        // Arrange: an image "db1" exists without an index entry (a crash between image and index), but its metadata
        // record asks for "-d /etc".
        var good = await CreateAsync("db1");
        _h.Ceph.Objects[IndexKey].TryRemove("db1", out _);
        var image = new ImageRef("rbd", "", "db1");
        var hostile = good with { Spec = good.Spec with { MkfsOptions = "-d /etc" } };
        _h.Ceph.Images[image] = _h.Ceph.Images[image] with { Metadata = new Dictionary<string, string> { [VolumeRecord.MetadataKey] = hostile.ToJson() } };

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["size"] = "1G" }, _ct));

        // Assert
        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.Contains($"image {image}", e.Message, StringComparison.Ordinal);
        Assert.False(_h.Ceph.Objects[IndexKey].ContainsKey("db1"));
    }

    [Fact]
    public async Task Inspect_HostileRecord_DamagedNamingTheVolume()
    {
        var good = await CreateAsync("db1");
        WriteIndex("db1", good with { Spec = good.Spec with { Pool = "secrets" } });

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Get<VolumeSnapshots>().RequireAsync("db1", _ct));

        Assert.Equal(VolumeErrorKind.Damaged, e.Kind);
        Assert.StartsWith("volume db1:", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The record's JSON with the fields of <paramref name="change"/> replaced (one level into "spec").</summary>
    private static string Merge(string json, string change)
    {
        var record = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse(change)!.AsObject())
        {
            if (key == "spec")
            {
                foreach (var (specKey, specValue) in value!.AsObject())
                {
                    record["spec"]![specKey] = specValue?.DeepClone();
                }
            }
            else
            {
                record[key] = value?.DeepClone();
            }
        }

        return record.ToJsonString();
    }
}
