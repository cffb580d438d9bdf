using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes;

/// <summary>The volume state machine over fakes of our own seams: counting, idempotency, undo.</summary>
[Trait("Tier", "Fast")]
public sealed class VolumeDriverTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private static Dictionary<string, string> Opts(params (string K, string V)[] o) => o.ToDictionary(x => x.K, x => x.V);

    [Fact]
    public async Task Create_NewVolume_MakesImageAndIndexEntryOnly()
    {
        await _h.Driver.CreateAsync("db1", Opts(("size", "10G")), _ct);

        var image = Assert.Single(_h.Ceph.Images.Values);
        Assert.Equal(new ImageRef("rbd", "", "db1"), image.Image);
        Assert.Equal(10UL << 30, image.SizeBytes);
        Assert.Contains(VolumeRecord.MetadataKey, image.Metadata.Keys);
        Assert.Empty(_h.Host.Log); // no map, no mkfs at create
        var info = await _h.Driver.GetAsync("db1", _ct);
        Assert.NotNull(info);
        Assert.Equal(10UL << 30, info.Status["sizeBytes"]);
        Assert.Equal("10737418240", info.Status["sizeBytesText"]); // for Go templates, which print numbers as floats
        Assert.Equal("ext4", info.Status["fstype"]);
        Assert.Equal("rbd", info.Status["pool"]);
        Assert.Equal(_h.Time.GetUtcNow(), info.CreatedAt);
    }

    [Fact]
    public async Task Create_SameOptionsTwice_Succeeds()
    {
        await _h.Driver.CreateAsync("db1", Opts(("size", "10G")), _ct);
        await _h.Driver.CreateAsync("db1", Opts(("size", "10240M")), _ct);
        Assert.Single(_h.Ceph.Images);
    }

    [Fact]
    public async Task Create_ConflictingOptions_FailsAndNamesThem()
    {
        await _h.Driver.CreateAsync("db1", Opts(("size", "10G")), _ct);
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", Opts(("size", "20G"), ("fstype", "xfs")), _ct));
        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("size (10G here, 20G asked)", e.Message, StringComparison.Ordinal);
        Assert.Contains("fstype (ext4 here, xfs asked)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_BadOption_CreatesNothing()
    {
        await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", Opts(("size", "lots")), _ct));
        Assert.Empty(_h.Ceph.Images);
        Assert.Empty(_h.Ceph.Calls);
    }

    [Fact]
    public async Task Create_ForeignImageWithSameName_Refused()
    {
        var foreign = new ImageRef("rbd", "", "db1");
        _h.Ceph.Images[foreign] = new ImageInfo(foreign, 1 << 30, 61, new Dictionary<string, string>());

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", null, _ct));

        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("not created by rbd-plugin", e.Message, StringComparison.Ordinal);
        Assert.True(_h.Ceph.Images.ContainsKey(foreign)); // untouched
    }

    [Fact]
    public async Task Create_IndexWriteFails_RemovesTheImageAgain()
    {
        _h.Ceph.FailOn = call => call == "SetOmapKey" ? new CephException("omap", Errno.EIO) : null;
        await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", null, _ct));
        Assert.Empty(_h.Ceph.Images);
    }

    [Fact]
    public async Task Create_AfterCrashBetweenImageAndIndex_Completes()
    {
        _h.Ceph.FailOn = call => call == "SetOmapKey" ? new CephException("omap", Errno.ETIMEDOUT) : null;
        var image = new ImageRef("rbd", "", "db1");
        // Image made by an earlier run that died before the index write.
        var record = new VolumeRecord("db1", "", CreateOptionsParser.Parse(null, _h.Settings, MapperAbilities.Any), _h.Time.GetUtcNow(), "host-a");
        _h.Ceph.Images[image] = new ImageInfo(image, 10UL << 30, 61, new Dictionary<string, string> { [VolumeRecord.MetadataKey] = record.ToJson() });
        _h.Ceph.FailOn = _ => null;

        await _h.Driver.CreateAsync("db1", null, _ct);

        Assert.NotNull(await _h.Driver.GetAsync("db1", _ct));
    }

    [Fact]
    public async Task Create_ImageDeletedOutOfBand_CreatesAgainWithNewOptions()
    {
        await _h.Driver.CreateAsync("db1", Opts(("size", "1G")), _ct);
        _h.Ceph.Images.Clear();
        Assert.Null(await _h.Driver.GetAsync("db1", _ct));

        await _h.Driver.CreateAsync("db1", Opts(("size", "2G")), _ct);

        Assert.Equal(2UL << 30, Assert.Single(_h.Ceph.Images.Values).SizeBytes);
    }

    [Fact]
    public async Task Mount_FirstTime_MapsFormatsMountsAndJournals()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);

        var mountpoint = await _h.Driver.MountAsync("db1", IdA, _ct);

        Assert.Equal(Path.Combine(_h.Settings.MountRoot, "db1"), mountpoint);
        Assert.Equal(["map", "probe", "mkfs", "mount"], _h.Host.Log);
        var entry = Assert.Single(ReadJournal());
        Assert.Equal(1, entry.Refs[IdA]);
        Assert.Equal(mountpoint, (await _h.Driver.GetAsync("db1", _ct))!.Mountpoint);
    }

    private List<JournalEntry> ReadJournal()
    {
        var journal = new MountJournal(_h.Settings.StateDir);
        journal.Load();
        return journal.All.ToList();
    }

    [Fact]
    public async Task Mount_ExistingFilesystem_NeverRunsMkfs()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Host.Signatures["/dev/fake0"] = "ext4";

        await _h.Driver.MountAsync("db1", IdA, _ct);

        Assert.DoesNotContain("mkfs", _h.Host.Log);
    }

    [Fact]
    public async Task Mount_PartitionTable_RefusedUnmappedAndUntouched()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Host.Signatures["/dev/fake0"] = "gpt";

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Contains("'gpt' signature", e.Message, StringComparison.Ordinal);
        Assert.Equal(["map", "probe", "unmap"], _h.Host.Log);
        Assert.Empty(ReadJournal());
    }

    [Theory]
    [InlineData("map", new[] { "map" })]
    [InlineData("probe", new[] { "map", "probe", "unmap" })]
    [InlineData("mkfs", new[] { "map", "probe", "mkfs", "unmap" })]
    [InlineData("mount", new[] { "map", "probe", "mkfs", "mount", "unmap" })]
    public async Task Mount_StepFails_UndoesFinishedStepsInReverse(string failing, string[] expectedLog)
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Host.FailOn = step => step == failing ? new VolumeException(VolumeErrorKind.HostCommandFailed, $"{step} broke") : null;

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal($"{failing} broke", e.Message);
        Assert.Equal(expectedLog, _h.Host.Log);
        Assert.Empty(_h.Host.Mapped);
        Assert.Empty(_h.Host.Mounts);
        Assert.Empty(ReadJournal());
    }

    [Fact]
    public async Task Mount_HostCommandFails_ErrCarriesCommandExitCodeAndStderr()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Host.FailOn = step => step == "mount"
            ? new HostCommandException("mount -t ext4 /dev/fake0 /m/db1", 32, "wrong fs type", "`mount -t ext4 /dev/fake0 /m/db1` exited with code 32: wrong fs type")
            : null;

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal(VolumeErrorKind.HostCommandFailed, e.Kind);
        Assert.Equal("mount of volume db1 failed: `mount -t ext4 /dev/fake0 /m/db1` exited with code 32: wrong fs type", e.Message);
        Assert.Empty(_h.Host.Mapped);
    }

    [Fact]
    public async Task Mount_UnknownVolume_NotFoundWithHowToCreate()
    {
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("nope", IdA, _ct));
        Assert.Equal(VolumeErrorKind.NotFound, e.Kind);
        Assert.Contains("docker volume create -d rbd nope", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mount_EmptyId_Refused()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", "", _ct));
    }

    [Fact]
    public async Task MountUnmount_TwoIds_CountedSeparately()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.MountAsync("db1", IdB, _ct);

        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();

        Assert.Single(_h.Host.Mounts);
        Assert.Equal(1, Assert.Single(ReadJournal()).Refs[IdB]);
        Assert.Single(_h.Host.Log, "map");
    }

    [Fact]
    public async Task Unmount_DockerCpRepeatsId_ContainerKeepsItsMount()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct); // container
        await _h.Driver.MountAsync("db1", IdA, _ct); // docker cp, same ID
        await _h.Driver.UnmountAsync("db1", IdA, _ct); // cp done
        await _h.PassGraceAsync();

        Assert.Single(_h.Host.Mounts);
        Assert.Equal(1, Assert.Single(ReadJournal()).Refs[IdA]);
    }

    [Fact]
    public async Task Unmount_LastReference_ReleasesOnlyAfterGrace()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);

        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        Assert.Single(_h.Host.Mounts); // reply came before the real unmount

        await _h.PassGraceAsync();
        Assert.Empty(_h.Host.Mounts);
        Assert.Empty(_h.Host.Mapped);
        Assert.Empty(ReadJournal());
    }

    [Fact]
    public async Task Mount_WithinGrace_ReusesMountWithoutRemapping()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);

        await _h.Driver.MountAsync("db1", IdB, _ct); // Docker's copy-up churn
        await _h.PassGraceAsync();

        Assert.Single(_h.Host.Mounts);
        Assert.Single(_h.Host.Log, "map");
    }

    [Fact]
    public async Task Unmount_UnknownIdOrVolume_Succeeds()
    {
        await _h.Driver.UnmountAsync("never-mounted", IdA, _ct);
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdB, _ct);
        Assert.Equal(1, Assert.Single(ReadJournal()).Refs[IdA]);
    }

    [Fact]
    public async Task Remove_WhileMounted_RefusedSayingWhere()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.RemoveAsync("db1", _ct));

        Assert.Equal(VolumeErrorKind.InUse, e.Kind);
        Assert.Contains("host-a", e.Message, StringComparison.Ordinal);
        Assert.Single(_h.Ceph.Images);
    }

    [Fact]
    public async Task Remove_WatchedElsewhere_RefusedNamingTheClient()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Ceph.Watchers[new ImageRef("rbd", "", "db1")] = [new Watcher("10.0.0.9:0/77", 4242)];

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.RemoveAsync("db1", _ct));

        Assert.Contains("client.4242 at 10.0.0.9:0/77", e.Message, StringComparison.Ordinal);
        Assert.Single(_h.Ceph.Images);
    }

    [Fact]
    public async Task Remove_InGracePeriod_ReleasesThenRemoves()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);

        await _h.Driver.RemoveAsync("db1", _ct);

        Assert.Empty(_h.Host.Mounts);
        Assert.Empty(_h.Ceph.Images);
        Assert.Null(await _h.Driver.GetAsync("db1", _ct));
    }

    [Fact]
    public async Task Remove_Trash_RecordsEntryAndPurgerDeletesOnlyAfterExpiry()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.RemoveAsync("db1", _ct);
        await _h.Driver.RemoveAsync("db1", _ct); // idempotent

        Assert.Single(_h.Ceph.Trash);
        var purger = _h.Get<TrashPurger>();
        Assert.Equal(0, await purger.PurgeExpiredAsync(_ct));
        _h.Time.Advance(_h.Settings.TrashExpiry + TimeSpan.FromMinutes(1));
        Assert.Equal(1, await purger.PurgeExpiredAsync(_ct));
        Assert.Empty(_h.Ceph.Trash);
    }

    [Theory]
    [InlineData("Delete", 0)]
    [InlineData("Keep", 1)]
    public async Task Remove_Action_DecidesTheImagesFate(string action, int imagesLeft)
    {
        using var h = new DriverHarness(removeAction: Enum.Parse<RemoveAction>(action));
        await h.Driver.CreateAsync("db1", null, _ct);

        await h.Driver.RemoveAsync("db1", _ct);

        Assert.Equal(imagesLeft, h.Ceph.Images.Count);
        Assert.Empty(h.Ceph.Trash);
        Assert.Null(await h.Driver.GetAsync("db1", _ct));
        Assert.Empty(await h.Driver.ListAsync(_ct));
    }

    [Fact]
    public async Task List_OnlyOurVolumes_WithMountpoints()
    {
        var foreign = new ImageRef("rbd", "", "not-ours");
        _h.Ceph.Images[foreign] = new ImageInfo(foreign, 1, 1, new Dictionary<string, string>());
        await _h.Driver.CreateAsync("b", null, _ct);
        await _h.Driver.CreateAsync("a", Opts(("pool", "rbd-extra")), _ct);
        await _h.Driver.MountAsync("b", IdA, _ct);
        _h.Ceph.Calls.Clear();

        var list = await _h.Driver.ListAsync(_ct);

        Assert.Equal(["a", "b"], list.Select(v => v.Name));
        Assert.Null(list[0].Mountpoint);
        Assert.NotNull(list[1].Mountpoint);
        Assert.Equal(["ReadOmapKeys"], _h.Ceph.Calls); // one round trip, names only
    }

    [Fact]
    public async Task Get_InvalidOrUnknownName_IsNull()
    {
        Assert.Null(await _h.Driver.GetAsync("../x", _ct));
        Assert.Null(await _h.Driver.GetAsync("nope", _ct));
    }

    [Fact]
    public async Task Path_MountedOrNot()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        Assert.Null(await _h.Driver.PathAsync("db1", _ct));
        var mountpoint = await _h.Driver.MountAsync("db1", IdA, _ct);
        Assert.Equal(mountpoint, await _h.Driver.PathAsync("db1", _ct));
        await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.PathAsync("nope", _ct));
    }

    [Fact]
    public async Task CephTimeout_BecomesUnavailableWithAdvice()
    {
        _h.Ceph.FailOn = _ => new CephException("rados_read_op_operate", Errno.ETIMEDOUT);
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.GetAsync("db1", _ct));
        Assert.Equal(VolumeErrorKind.Unavailable, e.Kind);
        Assert.Contains("ceph -s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_WithMountedVolume_KeepsItAndUnmountStillWorks()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Kept);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();
        Assert.Empty(_h.Host.Mounts);
        Assert.Empty(_h.Host.Mapped);
    }

    [Fact]
    public async Task Restart_DuringGrace_ReleasesTheIdleVolume()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Released);
        Assert.Empty(_h.Host.Mounts);
        Assert.Empty(ReadJournal());
    }

    [Fact]
    public async Task Restart_MountVanished_DropsEntryAndUnmaps()
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Host.Mounts.Clear(); // unmounted behind our back

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Dropped);
        Assert.Empty(_h.Host.Mapped);
        Assert.Empty(ReadJournal());
    }

    [Fact]
    public async Task Restart_OrphanMountUnderRoot_Cleaned()
    {
        var orphan = Path.Combine(_h.Settings.MountRoot, "ghost");
        var image = new ImageRef("rbd", "", "ghost");
        var device = await _h.Host.MapAsync(image, _ct);
        await _h.Host.MountAsync(device.DevicePath, orphan, "ext4", [], _ct);
        await _h.Host.MountAsync("/dev/other", "/elsewhere", "ext4", [], _ct);

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.OrphansCleaned);
        Assert.Equal(["/elsewhere"], _h.Host.Mounts.Keys);
        Assert.Empty(_h.Host.Mapped);
    }

    [Fact]
    public async Task Restart_OrphanMappingInOurStateDir_Unmapped_ForeignMappingKept()
    {
        var ours = new ImageRef("rbd", "", "half-mapped");
        var foreign = new ImageRef("rbd", "", "admins-own");
        _h.Host.Mapped[ours] = new MappedDevice(ours, "", "fake", Path.Combine(_h.Settings.StateDir, "fuse", "rbd.half-mapped"));
        _h.Host.Mapped[foreign] = new MappedDevice(foreign, "/dev/rbd7", "fake");

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.OrphansCleaned);
        Assert.Equal([foreign], _h.Host.Mapped.Keys);
    }

    [Fact]
    public async Task Concurrent_MountsOfDifferentVolumes_DoNotSerialize()
    {
        await _h.Driver.CreateAsync("a", null, _ct);
        await _h.Driver.CreateAsync("b", null, _ct);
        var gate = new TaskCompletionSource();
        var inMap = 0;
        _h.Host.FailOn = step =>
        {
            if (step == "map" && Interlocked.Increment(ref inMap) == 1)
            {
                // the first map blocks until the second volume got through its own map
                if (!gate.Task.Wait(TimeSpan.FromSeconds(5)))
                {
                    return new TimeoutException("volumes serialized");
                }
            }
            else if (step == "map")
            {
                gate.TrySetResult();
            }

            return null;
        };

        await Task.WhenAll(Task.Run(() => _h.Driver.MountAsync("a", IdA, _ct)), Task.Run(() => _h.Driver.MountAsync("b", IdB, _ct)));

        Assert.Equal(2, _h.Host.Mounts.Count);
    }
}
