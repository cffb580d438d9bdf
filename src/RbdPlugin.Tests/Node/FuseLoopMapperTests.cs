using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Ceph;
using RbdPlugin.Node;
using static RbdPlugin.Tests.Fakes.FakeCommandRunner;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Node;

/// <summary>The fuse mapper's decisions, against fakes of the runner, mount table and host (real tier: FuseLoopMapperClusterTests).</summary>
[Trait("Tier", "Fast")]
public sealed class FuseLoopMapperTests : IDisposable
{
    private static readonly CephClientArgs Client = new("/etc/ceph/ceph.conf", "docker", "/etc/ceph/docker.keyring");
    private static readonly ImageRef Vol1 = new("rbd", "", "vol1");

    private readonly string _stateDir = Directory.CreateTempSubdirectory("rbd-plugin-fuse-fast-").FullName;
    private readonly FakeCommandRunner _runner = new();
    private readonly FakeMountTable _mounts = new();
    private readonly FakeHostProbe _host = new();
    private readonly FuseLoopMapper _mapper;
    private readonly string _dir;
    private readonly string _file;

    public FuseLoopMapperTests()
    {
        _mapper = new FuseLoopMapper(_runner, Client, _mounts, _host, _stateDir, TimeProvider.System, NullLogger<FuseLoopMapper>.Instance)
        {
            ImageVisibleTimeout = TimeSpan.FromMilliseconds(200),
            BusyTimeout = TimeSpan.FromMilliseconds(200),
            PollInterval = TimeSpan.FromMilliseconds(5),
        };
        _dir = Path.Combine(_stateDir, "fuse", "rbd.vol1");
        _file = Path.Combine(_dir, "vol1");
        _runner.On("losetup", ["--list"], _ => Ok(LoopJson()));
        _runner.On("umount", [], args =>
        {
            _mounts.Entries.RemoveAll(m => m.MountPoint == args[0]);
            return Ok();
        });
    }

    private List<LoopDevice> Loops { get; } = [];

    public void Dispose() => Directory.Delete(_stateDir, recursive: true);

    [Fact]
    public async Task MapAsync_Fresh_StartsRbdFuseWithIdInEnvironmentThenAttachesLoopWithDirectIo()
    {
        ScriptWorkingRbdFuse();
        _runner.On("losetup", ["--find"], _ => Attach("/dev/loop7"));

        var device = await _mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal(new MappedDevice(Vol1, "/dev/loop7", "fuse", _dir), device);
        var fuse = Assert.Single(_runner.Calls, c => c.Program == "rbd-fuse");
        Assert.Equal(["-c", "/etc/ceph/ceph.conf", "-p", "rbd", "-r", "vol1", _dir], fuse.Args);
        Assert.Equal("--id docker --keyring /etc/ceph/docker.keyring --rbd_cache=false", fuse.Env!["CEPH_ARGS"]);
        Assert.Equal(["--find", "--show", "--direct-io=on", _file], Assert.Single(_runner.CallsTo("losetup", "--find")));
    }

    [Fact]
    public async Task MapAsync_FuseStartedNow_AttachesANewLoop_EvenWhenADeadOneNamesTheSamePath()
    {
        ScriptWorkingRbdFuse();
        Loops.Add(new LoopDevice("/dev/loop3", _file)); // left on an earlier mount of this directory that died
        _runner.On("losetup", ["--find"], _ => Attach("/dev/loop7"));

        var device = await _mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/loop7", device.DevicePath);
        Assert.Empty(_runner.CallsTo("losetup", "--list"));
    }

    [Fact]
    public async Task MapAsync_AlreadyMapped_ReturnsTheSameLoopDeviceWithoutStartingAnything()
    {
        FuseMounted();
        Loops.Add(new LoopDevice("/dev/loop3", _file));

        var device = await _mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/loop3", device.DevicePath);
        Assert.DoesNotContain(_runner.Calls, c => c.Program == "rbd-fuse" || c.Args.Contains("--find"));
    }

    [Fact]
    public async Task MapAsync_FuseMountedButNoLoop_OnlyAttachesLoop()
    {
        FuseMounted();
        _runner.On("losetup", ["--find"], _ => Attach("/dev/loop4"));

        var device = await _mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/loop4", device.DevicePath);
        Assert.DoesNotContain(_runner.Calls, c => c.Program == "rbd-fuse");
    }

    [Fact]
    public async Task MapAsync_DirectIoRefused_FallsBackToBufferedLoop()
    {
        ScriptWorkingRbdFuse();
        _runner.On("losetup", ["--find", "--show", "--direct-io=on"], Fail(1, "losetup: /dev/loop0: set direct io failed"));
        _runner.On("losetup", ["--find", "--show", _file], _ => Attach("/dev/loop0"));

        var device = await _mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/loop0", device.DevicePath);
    }

    [Fact]
    public async Task MapAsync_LosetupFails_UnmountsTheFuseItStartedAndRemovesTheDir()
    {
        ScriptWorkingRbdFuse();
        _runner.On("losetup", ["--find"], Fail(1, "losetup: cannot find an unused loop device"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _mapper.MapAsync(Vol1, CancellationToken.None));

        Assert.Contains("unused loop device", e.Message, StringComparison.Ordinal);
        Assert.Equal([_dir], Assert.Single(_runner.CallsTo("umount")));
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public async Task MapAsync_LosetupFailsAndUndoFailsToo_ReportsTheOriginalFailure()
    {
        ScriptWorkingRbdFuse();
        _runner.On("losetup", ["--find"], Fail(1, "losetup: cannot find an unused loop device"));
        _runner.On("umount", [], Fail(32, "umount: something else went wrong"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _mapper.MapAsync(Vol1, CancellationToken.None));

        Assert.Contains("unused loop device", e.Message, StringComparison.Ordinal);
        Assert.Contains(await _mapper.ListMappedAsync(CancellationToken.None), d => d.Image == Vol1 && d.DevicePath.Length == 0);
    }

    [Fact]
    public async Task MapAsync_CallerCancelsWhileWaiting_StillUndoesTheFuseMount()
    {
        // Cancel once rbd-fuse has mounted, so the wait that follows is cancelled, whatever the machine's speed.
        using var cts = new CancellationTokenSource();
        _runner.On("rbd-fuse", [], _ =>
        {
            FuseMounted(fileVisible: false);
            cts.Cancel();
            return Ok();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _mapper.MapAsync(Vol1, cts.Token));

        Assert.Single(_runner.CallsTo("umount"));
        Assert.Empty(_mounts.Entries);
    }

    [Fact]
    public async Task MapAsync_ImageNeverAppears_UndoesAndSaysWhatToCheck()
    {
        _runner.On("rbd-fuse", [], _ =>
        {
            FuseMounted(fileVisible: false);
            return Ok();
        });

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _mapper.MapAsync(Vol1, CancellationToken.None));

        Assert.Contains("does the image exist", e.Message, StringComparison.Ordinal);
        Assert.Single(_runner.CallsTo("umount"));
        Assert.Empty(_runner.CallsTo("losetup", "--find"));
    }

    [Fact]
    public async Task MapAsync_RbdFuseFails_ThrowsAndStartsNoLoop()
    {
        _runner.On("rbd-fuse", [], Fail(1, "failed to fetch mon config (--no-mon-config to skip)"));

        await Assert.ThrowsAsync<HostCommandException>(() => _mapper.MapAsync(Vol1, CancellationToken.None));

        Assert.Empty(_runner.CallsTo("losetup", "--find"));
    }

    [Fact]
    public async Task MapAsync_DeadFuseMountWithoutLoop_IsUnmountedAndMappedAfresh()
    {
        FuseMounted(fileVisible: false);
        ScriptWorkingRbdFuse();
        _runner.On("losetup", ["--find"], _ => Attach("/dev/loop1"));

        var device = await _mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/loop1", device.DevicePath);
        Assert.Single(_runner.CallsTo("umount"));
        Assert.Single(_runner.Calls, c => c.Program == "rbd-fuse");
    }

    [Fact]
    public async Task MapAsync_DeadFuseMountUnderALoopDevice_RefusesWithAdvice()
    {
        FuseMounted(fileVisible: false);
        Loops.Add(new LoopDevice("/dev/loop2", _file));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _mapper.MapAsync(Vol1, CancellationToken.None));

        Assert.Contains("/dev/loop2", e.Message, StringComparison.Ordinal);
        Assert.Empty(_runner.CallsTo("umount"));
    }

    [Fact]
    public async Task UnmapAsync_Mapped_DetachesLoopThenUnmountsFuseThenRemovesDir()
    {
        FuseMounted();
        Loops.Add(new LoopDevice("/dev/loop3", _file));
        _runner.On("losetup", ["-d"], args =>
        {
            Loops.RemoveAll(l => l.Device == args[1]);
            return Ok();
        });

        await _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse", _dir), CancellationToken.None);

        Assert.Equal(["losetup -d /dev/loop3", $"umount {_dir}"],
            _runner.Calls.Where(c => c.Program != "losetup" || c.Args[0] != "--list").Select(c => $"{c.Program} {string.Join(' ', c.Args)}"));
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public async Task UnmapAsync_RbdFuseStillRunningAfterUmount_ReturnsOnlyOnceItEnded()
    {
        // Arrange: rbd-fuse serves the dir and keeps running for 3 more checks after its umount (closing the image)
        FuseMounted();
        _host.Processes[4242] = ["rbd-fuse", "-c", "/etc/ceph/ceph.conf", "-p", "rbd", "-r", "vol1", _dir];
        _host.Processes[4343] = ["rbd-fuse", "-c", "/etc/ceph/ceph.conf", "-p", "rbd", "-r", "vol2", _dir + "x"];
        _host.EndsAfterChecks[4242] = 3;

        // Act
        await _mapper.UnmapAsync(new MappedDevice(Vol1, "", "fuse", _dir), CancellationToken.None);

        // Assert: it waited for that process only (the other image's rbd-fuse still runs)
        Assert.False(_host.Processes.ContainsKey(4242));
        Assert.True(_host.Processes.ContainsKey(4343));
        Assert.Equal([$"umount {_dir}"], _runner.CallsTo("umount").Select(a => $"umount {string.Join(' ', a)}"));
    }

    [Fact]
    public async Task UnmapAsync_RbdFuseNeverEnds_GivesUpAfterTheBoundWithoutFailing()
    {
        var mapper = new FuseLoopMapper(_runner, Client, _mounts, _host, _stateDir, TimeProvider.System, NullLogger<FuseLoopMapper>.Instance)
        {
            FuseExitTimeout = TimeSpan.FromMilliseconds(50),
            PollInterval = TimeSpan.FromMilliseconds(5),
        };
        FuseMounted();
        _host.Processes[4242] = ["rbd-fuse", "-r", "vol1", _dir];

        await mapper.UnmapAsync(new MappedDevice(Vol1, "", "fuse", _dir), CancellationToken.None);

        Assert.True(_host.Processes.ContainsKey(4242));
        Assert.Single(_runner.CallsTo("umount"));
        Assert.Empty(_mounts.Entries);
    }

    [Fact]
    public async Task UnmapAsync_NothingLeft_IsSuccessWithoutCommands()
    {
        await _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse"), CancellationToken.None);

        Assert.All(_runner.Calls, c => Assert.Equal(["--list", "--json", "--output", "NAME,BACK-FILE"], c.Args));
    }

    [Fact]
    public async Task UnmapAsync_RecordedLoopNowBacksAnotherFile_IsNotDetached()
    {
        Loops.Add(new LoopDevice("/dev/loop3", "/somewhere/else.img"));

        await _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse"), CancellationToken.None);

        Assert.Empty(_runner.CallsTo("losetup", "-d"));
    }

    [Fact]
    public async Task UnmapAsync_RecordedLoopOnTheFileOfAGoneFuseMount_IsDetached()
    {
        // Arrange: the rbd-fuse mount died with a managed plugin; the loop device shows its file at the root of the
        // detached mount, and a container's filesystem still holds it (the kernel detaches it when that goes)
        Loops.Add(new LoopDevice("/dev/loop3", "/vol1"));
        _runner.On("losetup", ["-d"], _ => Ok());

        // Act
        await _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse"), CancellationToken.None);

        // Assert
        Assert.Equal(["-d", "/dev/loop3"], Assert.Single(_runner.CallsTo("losetup", "-d")));
    }

    [Fact]
    public async Task UnmapAsync_AnotherLoopOnAGoneFuseFileOfTheSameName_IsNotDetached()
    {
        Loops.Add(new LoopDevice("/dev/loop4", "/vol1"));

        await _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse"), CancellationToken.None);

        Assert.Empty(_runner.CallsTo("losetup", "-d"));
    }

    [Fact]
    public async Task UnmapAsync_LoopStillMounted_RefusesAndDetachesNothing()
    {
        FuseMounted();
        Loops.Add(new LoopDevice("/dev/loop3", _file));
        _mounts.Entries.Add(new MountEntry("/dev/loop3", "/mnt/vol1", "ext4"));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse"), CancellationToken.None));

        Assert.Contains("still mounted at /mnt/vol1", e.Message, StringComparison.Ordinal);
        Assert.Empty(_runner.CallsTo("losetup", "-d"));
    }

    [Fact]
    public async Task UnmapAsync_LoopAlreadyDetached_IsSuccess()
    {
        Loops.Add(new LoopDevice("/dev/loop3", _file));
        _runner.On("losetup", ["-d"], Fail(1, "losetup: /dev/loop3: detach failed: " + FuseLoopMapper.LoopNotAttachedText));

        await _mapper.UnmapAsync(new MappedDevice(Vol1, "/dev/loop3", "fuse"), CancellationToken.None);
    }

    [Fact]
    public async Task UnmapAsync_FuseBusyForAMoment_IsRetried()
    {
        FuseMounted();
        var attempts = 0;
        _runner.On("umount", [], args =>
        {
            if (++attempts < 3)
            {
                return Fail(32, $"umount: {args[0]}: {FuseLoopMapper.BusyText}.");
            }
            _mounts.Entries.Clear();
            return Ok();
        });

        await _mapper.UnmapAsync(new MappedDevice(Vol1, "", "fuse"), CancellationToken.None);

        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task UnmapAsync_FuseBusyForever_ThrowsAfterTheBusyTimeout()
    {
        FuseMounted();
        _runner.On("umount", [], args => Fail(32, $"umount: {args[0]}: {FuseLoopMapper.BusyText}."));

        var e = await Assert.ThrowsAsync<HostCommandException>(() =>
            _mapper.UnmapAsync(new MappedDevice(Vol1, "", "fuse"), CancellationToken.None));

        Assert.Equal(32, e.ExitCode);
    }

    [Fact]
    public async Task ListMappedAsync_JoinsLoopDevicesWithFuseMountsUnderTheRoot_NotLoopsOfOtherNamespacesFuseMounts()
    {
        var root = Path.Combine(_stateDir, "fuse");
        var ns = new ImageRef("rbd", "team-a", "db");
        _mounts.Entries.Add(new MountEntry("rbd-fuse", Path.Combine(root, "rbd.vol1"), "fuse.rbd-fuse"));
        _mounts.Entries.Add(new MountEntry("rbd-fuse", Path.Combine(root, "rbd.team-a.db"), "fuse.rbd-fuse"));
        _mounts.Entries.Add(new MountEntry("rbd-fuse", Path.Combine(root, "rbd.half"), "fuse.rbd-fuse"));
        _mounts.Entries.Add(new MountEntry("rbd-fuse", "/elsewhere/rbd.other", "fuse.rbd-fuse"));
        _mounts.Entries.Add(new MountEntry("/dev/sda1", Path.Combine(root, "rbd.notfuse"), "ext4"));
        Loops.Add(new LoopDevice("/dev/loop0", Path.Combine(root, "rbd.vol1", "vol1")));
        Loops.Add(new LoopDevice("/dev/loop1", Path.Combine(root, "rbd.team-a.db", "db")));
        // Another namespace's (another managed plugin's): its fuse mount is not in this mount table.
        Loops.Add(new LoopDevice("/dev/loop2", Path.Combine(root, "rbd.gone", "gone")));
        Loops.Add(new LoopDevice("/dev/loop9", "/tmp/unrelated.img"));

        var mapped = await _mapper.ListMappedAsync(CancellationToken.None);

        Assert.Equal(
            new[]
            {
                new MappedDevice(Vol1, "/dev/loop0", "fuse", Path.Combine(root, "rbd.vol1")),
                new MappedDevice(ns, "/dev/loop1", "fuse", Path.Combine(root, "rbd.team-a.db")),
                new MappedDevice(new ImageRef("rbd", "", "half"), "", "fuse", Path.Combine(root, "rbd.half")),
            }.OrderBy(d => d.Image.Name),
            mapped.OrderBy(d => d.Image.Name));
    }

    private void FuseMounted(bool fileVisible = true)
    {
        _mounts.Entries.Add(new MountEntry("rbd-fuse", _dir, "fuse.rbd-fuse"));
        if (fileVisible)
        {
            _host.Paths.Add(_file);
        }
        else
        {
            _host.Paths.Remove(_file);
        }
    }

    private void ScriptWorkingRbdFuse() =>
        _runner.On("rbd-fuse", [], _ =>
        {
            FuseMounted();
            return Ok();
        });

    private CommandResult Attach(string device)
    {
        Loops.Add(new LoopDevice(device, _file));
        return Ok(device + "\n");
    }

    private string LoopJson() =>
        "{\"loopdevices\":[" + string.Join(',', Loops.Select(l => $"{{\"name\":\"{l.Device}\",\"back-file\":\"{l.BackingFile}\"}}")) + "]}";
}
