using System.Buffers.Binary;
using System.Text.Json;
using RbdPlugin.Operations;
using RbdPlugin.Cli;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;
using RbdPlugin.Hosting;

namespace RbdPlugin.Tests.Volumes.Snapshots;

/// <summary>Snapshots, clones and resize over fakes: option parsing, the freeze/thaw discipline, clone and resize rules, JSON.</summary>
[Trait("Tier", "Fast")]
public sealed class SnapshotFastTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly DriverHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static Dictionary<string, string> Opts(params (string Key, string Value)[] options) => options.ToDictionary(o => o.Key, o => o.Value);

    [Fact]
    public void ParseClone_TakesSourceSnapshotSizePool_AndRefusesLayoutOptions()
    {
        var clone = CreateOptionsParser.ParseClone(Opts(("from-snapshot", "db1@s1"), ("size", "20G"), ("pool", "rbd-extra")), _h.Settings, MapperAbilities.Any);
        Assert.Equal(("db1", "s1", "rbd-extra", 20UL << 30, null, null, 0),
            (clone.Source, clone.Snapshot, clone.Pool, clone.SizeBytes, clone.FsType, clone.MountOptions, clone.LimitOptions.Count));
        Assert.True(CreateOptionsParser.IsClone(Opts(("from-snapshot", "db1@s1"))));

        var layout = Assert.Throws<VolumeException>(() => CreateOptionsParser.ParseClone(Opts(("from-snapshot", "db1@s1"), ("features", "layering")), _h.Settings, MapperAbilities.Any));
        Assert.Contains("cannot be combined with from-snapshot", layout.Message, StringComparison.Ordinal);
        // The plain parser never turns a clone request into an empty volume.
        Assert.Throws<VolumeException>(() => CreateOptionsParser.Parse(Opts(("from-snapshot", "db1@s1")), _h.Settings, MapperAbilities.Any));
    }

    [Theory]
    [InlineData("db1")]
    [InlineData("db1@")]
    [InlineData("@s1")]
    [InlineData("db1@s1@s2")]
    [InlineData("db1@s 1")]
    [InlineData("../x@s1")]
    public void ParseClone_BadSpec_SaysWhatToGive(string spec)
    {
        var e = Assert.Throws<VolumeException>(() => CreateOptionsParser.ParseClone(Opts(("from-snapshot", spec)), _h.Settings, MapperAbilities.Any));
        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("VOLUME@SNAPSHOT", e.Message, StringComparison.Ordinal);
    }

    private async Task<string> MountedVolumeAsync()
    {
        await _h.Driver.CreateAsync("v1", Opts(("size", "1G")), None);
        return await _h.Driver.MountAsync("v1", "m1", None);
    }

    [Fact]
    public async Task Snapshot_Mounted_FreezesSnapshotsThaws()
    {
        var mountpoint = await MountedVolumeAsync();

        var taken = await _h.Driver.SnapshotAsync("v1", "s1", None);

        Assert.True(taken.Frozen);
        Assert.Equal("host-a", taken.Host);
        Assert.Equal(["freeze", "thaw"], _h.Host.Log.Where(s => s is "freeze" or "thaw"));
        Assert.Empty(_h.Host.Frozen);
        var image = _h.Ceph.Images.Keys.Single();
        Assert.Equal("s1", Assert.Single(_h.Ceph.Snapshots[image]).Name);
        Assert.False((await _h.Driver.SnapshotAsync("v1", "s1", None)).Created);
        Assert.Equal(mountpoint, _h.Journal.Get("v1")!.Mountpoint);
    }

    [Fact]
    public async Task Snapshot_Mounted_SnapshotFails_StillThaws()
    {
        await MountedVolumeAsync();
        _h.Ceph.FailOn = call => call == "CreateSnapshot" ? new RbdPlugin.Ceph.CephException("rbd_snap_create", RbdPlugin.Ceph.Errno.EIO) : null;

        await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.SnapshotAsync("v1", "s1", None));

        Assert.Contains("thaw", _h.Host.Log);
        Assert.Empty(_h.Host.Frozen);
    }

    [Fact]
    public async Task Snapshot_FreezeFails_ThawsAnywayAndTakesNoSnapshot()
    {
        await MountedVolumeAsync();
        _h.Host.FailOn = step => step == "freeze" ? new HostCommandException("fsfreeze: boom") : null;

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.SnapshotAsync("v1", "s1", None));

        Assert.Equal(VolumeErrorKind.HostCommandFailed, e.Kind);
        Assert.Contains("thaw", _h.Host.Log);
        Assert.Empty(_h.Ceph.Snapshots.Values.SelectMany(s => s));
    }

    [Fact]
    public async Task Grow_Mounted_RefreshesTheDeviceThenGrows_NotMounted_Nothing()
    {
        await MountedVolumeAsync();
        _h.Host.Room[_h.Journal.Get("v1")!.Device] = 500;

        var grown = await _h.Driver.GrowAsync("v1", None);

        Assert.True(grown.Mounted);
        Assert.Equal(1500UL, grown.FilesystemBytes);
        Assert.Equal(["refresh", "grow"], _h.Host.Log.SkipWhile(s => s != "refresh"));
        Assert.False((await _h.Driver.GrowAsync("other", None)).Mounted);
    }

    [Fact]
    public async Task Flatten_AClone_OnceTrueThenFalse_UnknownVolumeNotFound()
    {
        await _h.Driver.CreateAsync("src", Opts(("size", "1G")), None);
                await _h.Ceph.CreateSnapshotAsync(new RbdPlugin.Ceph.ImageRef("rbd", "", "src"), "s1", None);
        await _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@s1")), None);

        var (record, first) = await _h.Get<VolumeClones>().FlattenAsync("c1", None);
        var (_, second) = await _h.Get<VolumeClones>().FlattenAsync("c1", None);
        var (_, source) = await _h.Get<VolumeClones>().FlattenAsync("src", None);

        Assert.Equal((true, false, false), (first, second, source));
        Assert.Equal("src@s1", record.Spec.FromSnapshot);
        var missing = await Assert.ThrowsAsync<VolumeException>(() => _h.Get<VolumeClones>().FlattenAsync("nope", None));
        Assert.Equal(VolumeErrorKind.NotFound, missing.Kind);
        Assert.Contains("volume ls", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateFromSnapshot_IsAVolumeWithTheSourcesFilesystem_SmallerSizeRefused()
    {
        await _h.Driver.CreateAsync("src", Opts(("size", "1G"), ("fstype", "xfs")), None);
                await _h.Ceph.CreateSnapshotAsync(new RbdPlugin.Ceph.ImageRef("rbd", "", "src"), "s1", None);

        var small = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@s1"), ("size", "512M")), None));
        Assert.Contains("cannot be smaller", small.Message, StringComparison.Ordinal);
        var wrongFs = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@s1"), ("fstype", "ext4")), None));
        Assert.Contains("holds an xfs filesystem", wrongFs.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@nope")), None));
        Assert.Equal(VolumeErrorKind.NotFound, missing.Kind);

        await _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@s1"), ("size", "2G")), None);
        await _h.Driver.CreateAsync("c1", Opts(("from-snapshot", "src@s1"), ("size", "2G")), None); // idempotent

        var record = (await _h.Get<VolumeCatalog>().GetAsync("c1", None))!;
        Assert.Equal(("xfs", 2UL << 30, "src@s1"), (record.Spec.FsType, record.Spec.SizeBytes, record.Spec.FromSnapshot));
        Assert.Equal("src@s1", (await _h.Driver.GetAsync("c1", None))!.Status["createdFrom"]);
        Assert.False((await _h.Driver.GetAsync("src", None))!.Status.ContainsKey("createdFrom"));
        var (resized, before) = await _h.Get<VolumeResizer>().ResizeAsync("c1", 3UL << 30, None);
        Assert.Equal((2UL << 30, 3UL << 30), (before, resized.ResizedTo!.Value));
        var shrink = await Assert.ThrowsAsync<VolumeException>(() => _h.Get<VolumeResizer>().ResizeAsync("c1", 1UL << 30, None));
        Assert.Contains("shrinking", shrink.Message, StringComparison.Ordinal);
        Assert.Equal(3UL << 30, _h.Ceph.Images[record.Image].SizeBytes);
    }

    [Fact]
    public async Task Rollback_WhileLeaseHeld_RefusedNamingTheHost()
    {
        await MountedVolumeAsync();
                var snapshots = _h.Get<VolumeSnapshots>();
        await _h.Driver.SnapshotAsync("v1", "s1", None);

        var e = await Assert.ThrowsAsync<VolumeException>(() => snapshots.RollbackAsync("v1", "s1", None));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("mounted on host host-a", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("RollbackSnapshot", _h.Ceph.Calls);
    }

    [Theory]
    [InlineData("ext4", 4096L * 70000)]
    [InlineData("xfs", 4096L * 81920)]
    public void Superblock_ReadsTheFilesystemSize(string fsType, long expected)
    {
        var head = fsType == "ext4" ? SuperblockHeads.Ext4(70000) : new byte[Superblock.HeadBytes];
        if (fsType == "xfs")
        {
            BinaryPrimitives.WriteUInt32BigEndian(head, 0x58465342);
            BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), 4096);
            BinaryPrimitives.WriteUInt64BigEndian(head.AsSpan(8), 81920);
        }

        Assert.Equal((ulong)expected, Superblock.SizeOf(head, fsType));
        Assert.Null(Superblock.SizeOf(head, fsType == "ext4" ? "xfs" : "ext4"));
        Assert.Null(Superblock.SizeOf(new byte[Superblock.HeadBytes], fsType));
    }

    private static string[] Fields(string json)
    {
        var root = JsonDocument.Parse(json).RootElement;
        return (root.ValueKind == JsonValueKind.Array ? root[0] : root).EnumerateObject().Select(p => p.Name).ToArray();
    }

    [Fact]
    public void Json_HasTheDocumentedFields()
    {
        var when = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.Equal(["name", "snapshot", "created", "frozen", "host", "freezeMs", "createdAt"],
            Fields(JsonSerializer.Serialize(new SnapshotTaken("v", "s", true, true, "h", 12, when), SnapshotJsonContext.Default.SnapshotTaken)));
        Assert.Equal(["name", "id", "sizeBytes", "size", "createdAt"],
            Fields(JsonSerializer.Serialize<IReadOnlyList<SnapshotListItem>>([new("s", 4, 1, "1", when)], SnapshotJsonContext.Default.IReadOnlyListSnapshotListItem)));
        Assert.Equal(["name", "snapshot", "removed"], Fields(JsonSerializer.Serialize(new SnapshotRemoved("v", "s", true), SnapshotJsonContext.Default.SnapshotRemoved)));
        Assert.Equal(["name", "snapshot", "sizeBytes"], Fields(JsonSerializer.Serialize(new SnapshotRolledBack("v", "s", 1), SnapshotJsonContext.Default.SnapshotRolledBack)));
        Assert.Equal(["name", "source", "snapshot", "image", "sizeBytes", "fstype"],
            Fields(JsonSerializer.Serialize(new VolumeCloned("n", "v", "s", "rbd/n", 1, "ext4"), SnapshotJsonContext.Default.VolumeCloned)));
        Assert.Equal(["name", "flattened", "from"], Fields(JsonSerializer.Serialize(new VolumeFlattened("c", true, "v@s"), SnapshotJsonContext.Default.VolumeFlattened)));
        Assert.Equal(["name", "previousSizeBytes", "sizeBytes", "filesystem", "host", "filesystemBytes"],
            Fields(JsonSerializer.Serialize(new VolumeResized("v", 1, 2, "grown", "h", 2), SnapshotJsonContext.Default.VolumeResized)));
        Assert.Equal(["snapshot"], Fields(JsonSerializer.Serialize(new SnapshotRequest("s"), AdminJsonContext.Default.SnapshotRequest)));
    }

    [Fact]
    public async Task AdminAnswer_MapsTheDriversErrorsToStatusAndKind()
    {
        await MountedVolumeAsync();
        var result = await AdminEndpoints.AnswerAsync(async () =>
            Microsoft.AspNetCore.Http.TypedResults.Json(await _h.Driver.SnapshotAsync("v1", "bad@name", None), AdminJsonContext.Default.SnapshotTaken));

        var error = Assert.IsType<Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<AdminError>>(result);
        Assert.Equal(400, error.StatusCode);
        Assert.Equal(nameof(VolumeErrorKind.InvalidArgument), error.Value!.Kind);
        Assert.Contains("invalid snapshot name", error.Value.Error, StringComparison.Ordinal);
    }
}
