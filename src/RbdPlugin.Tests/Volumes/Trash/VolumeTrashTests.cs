using RbdPlugin.Ceph;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Trash;

/// <summary>The trash logic over the in-memory cluster (the cluster tier proves it against Ceph).</summary>
[Trait("Tier", "Fast")]
public sealed class VolumeTrashTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly DriverHarness _h = new();
    private readonly VolumeTrash _trash;

    public VolumeTrashTests() => _trash = _h.Get<VolumeTrash>();

    public void Dispose() => _h.Dispose();

    private async Task<string> TrashedAsync(string name, string size = "1G")
    {
        await _h.Driver.CreateAsync(name, new Dictionary<string, string> { ["size"] = size }, None);
        await _h.Driver.RemoveAsync(name, None);
        return _h.Ceph.Trash.Values.Single(t => t.Name == name).Id;
    }

    [Fact]
    public async Task List_OnlyOurEntries_WithSizeAndTimes()
    {
        var id = await TrashedAsync("db1");
        _h.Ceph.Trash["foreign"] = new TrashEntry("rbd", "", "foreign", "other-tool-image", _h.Time.GetUtcNow(), _h.Time.GetUtcNow());

        var listed = await _trash.ListAsync(None);

        var only = Assert.Single(listed);
        Assert.Equal(("db1", id, 1UL << 30), (only.Name, only.ImageId, only.SizeBytes!.Value));
        Assert.Equal(_h.Time.GetUtcNow() + _h.Settings.TrashExpiry, only.ExpiresAt);
    }

    [Fact]
    public async Task Restore_AsNewName_RewritesTheRecordAndIndex_OldNameStaysFree()
    {
        var id = await TrashedAsync("db1");

        var (record, volume) = await _trash.RestoreAsync("db1", "db2", None);

        Assert.Equal(("db1", "db2"), (record.Name, volume.Name));
        Assert.NotNull(await _h.Get<VolumeCatalog>().GetAsync("db2", None));
        Assert.Null(await _h.Get<VolumeCatalog>().GetAsync("db1", None));
        var metadata = (await _h.Ceph.StatImageAsync(new ImageRef("rbd", "", "db2"), [VolumeRecord.MetadataKey], None))!.Metadata;
        Assert.Equal("db2", VolumeRecord.FromJson(metadata[VolumeRecord.MetadataKey])!.Name);
        Assert.Empty(await _trash.ListAsync(None));
        Assert.Equal(id, await _h.Ceph.GetImageIdAsync(new ImageRef("rbd", "", "db2"), None));
    }

    [Fact]
    public async Task Restore_NameTaken_ConflictAndNothingChanges()
    {
        await TrashedAsync("db1");
        await _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["size"] = "2G" }, None);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _trash.RestoreAsync("db1", null, None));

        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("--as", e.Message, StringComparison.Ordinal);
        Assert.Single(await _trash.ListAsync(None));
    }

    [Fact]
    public async Task Restore_CrashAfterTheImageCameBack_SecondRunFinishes()
    {
        var id = await TrashedAsync("db1");
        _h.Ceph.FailOn = call => call == "SetOmapKey" ? new CephException("rados_write_op_operate2", Errno.ETIMEDOUT) : null;
        await Assert.ThrowsAsync<CephException>(() => _trash.RestoreAsync("db1", null, None));
        _h.Ceph.FailOn = _ => null;

        var (_, volume) = await _trash.RestoreAsync("db1", null, None);

        Assert.Equal("db1", volume.Name);
        Assert.NotNull(await _h.Get<VolumeCatalog>().GetAsync("db1", None));
        Assert.Empty(_h.Ceph.Objects.GetValueOrDefault($"rbd//{TrashIndex.IndexObject}") ?? new());
        Assert.Equal(id, await _h.Ceph.GetImageIdAsync(new ImageRef("rbd", "", "db1"), None));
    }

    [Fact]
    public async Task Purge_ExpiredOnly_LeavesTheYoungOnes_ByName_Forces()
    {
        await TrashedAsync("old");
        _h.Time.Advance(_h.Settings.TrashExpiry + TimeSpan.FromMinutes(1));
        await TrashedAsync("young");
        await TrashedAsync("named");

        var expired = await _trash.PurgeAsync(null, expiredOnly: true, None);
        var named = await _trash.PurgeAsync("named", expiredOnly: false, None);
        var again = await _trash.PurgeAsync("named", expiredOnly: false, None);

        Assert.Equal(["old"], expired.Purged.Select(r => r.Name));
        Assert.Equal(["named"], named.Purged.Select(r => r.Name));
        Assert.Empty(again.Purged);
        Assert.Equal(["young"], (await _trash.ListAsync(None)).Select(v => v.Name));
    }

    [Fact]
    public async Task Purge_ARecordNamingAPoolThePluginMayNotUse_IsNotActedOn()
    {
        // Arrange: another tool's trash entry in a pool outside AllowedPools, and a record in our index naming it
        // (the index is writable by any host's key)
        _h.Ceph.Trash["0badc0ffee"] = new TrashEntry("other-pool", "", "0badc0ffee", "their-image", _h.Time.GetUtcNow(), _h.Time.GetUtcNow());
        await _h.Get<TrashIndex>().PutAsync(new TrashRecord("db1", "other-pool", "", "0badc0ffee", _h.Time.GetUtcNow()), None);

        // Act
        var outcome = await _trash.PurgeAsync(null, expiredOnly: false, None);

        // Assert: not purged, not listed
        Assert.Empty(outcome.Purged);
        Assert.True(_h.Ceph.Trash.ContainsKey("0badc0ffee"));
        Assert.Empty(await _trash.ListAsync(None));
    }
}
