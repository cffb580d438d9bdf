using Microsoft.Extensions.Logging.Abstractions;
using System.Runtime.Versioning;
using RbdPlugin.Node;
using static RbdPlugin.Tests.Fakes.FakeCommandRunner;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Node;

[Trait("Tier", "Fast")]
[SupportedOSPlatform("linux")]
public sealed class FilesystemTests
{
    private readonly FakeCommandRunner _runner = new();
    private readonly FakeMountTable _mounts = new();
    private readonly FakeHostProbe _host = new();
    private readonly Filesystem _fs;

    public FilesystemTests()
    {
        _fs = new Filesystem(_runner, _mounts, _host, NullLogger<Filesystem>.Instance);
        _host.Paths.UnionWith(["/dev/loop0", "/dev/loop1"]);
        _host.DeviceSizes["/dev/loop0"] = _host.DeviceSizes["/dev/loop1"] = 64UL << 20;
    }

    [Fact]
    public async Task ProbeAsync_BlkidFindsNothing_IsNull()
    {
        _runner.On("blkid", [], Fail(Filesystem.BlkidNothingFound, ""));

        Assert.Null(await _fs.ProbeAsync("/dev/loop0", CancellationToken.None));
        Assert.Equal(["-p", "-o", "export", "/dev/loop0"], Assert.Single(_runner.CallsTo("blkid")));
    }

    [Fact]
    public async Task ProbeAsync_DeviceMissing_ThrowsWithoutAskingBlkidWhichWouldSayNothingFound()
    {
        await Assert.ThrowsAsync<HostCommandException>(() => _fs.ProbeAsync("/dev/loop9", CancellationToken.None));

        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task ProbeAsync_Exit2WithAnError_Throws()
    {
        _runner.On("blkid", [], Fail(Filesystem.BlkidNothingFound, "blkid: error: /dev/loop0: Permission denied"));

        await Assert.ThrowsAsync<HostCommandException>(() => _fs.ProbeAsync("/dev/loop0", CancellationToken.None));
    }

    [Theory]
    [InlineData("DEVNAME=/dev/loop0\nTYPE=ext4\n", "ext4")]
    [InlineData("DEVNAME=/dev/loop0\nPTUUID=1\nPTTYPE=gpt\n", "gpt")]
    public async Task ProbeAsync_SignatureFound_ReturnsIt(string export, string expected)
    {
        _runner.On("blkid", [], Ok(export));

        Assert.Equal(expected, await _fs.ProbeAsync("/dev/loop0", CancellationToken.None));
    }

    [Theory]
    [InlineData(4, "blkid: error: /dev/loop0: No such file or directory")]
    [InlineData(8, "")]
    [InlineData(1, "")]
    public async Task ProbeAsync_AnyOtherFailure_ThrowsInsteadOfCallingItEmpty(int exitCode, string stderr)
    {
        _runner.On("blkid", [], Fail(exitCode, stderr));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _fs.ProbeAsync("/dev/loop0", CancellationToken.None));

        Assert.Equal(exitCode, e.ExitCode);
    }

    [Theory]
    [InlineData("ext4", true, new[] { "-q", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1,assume_storage_prezeroed=1", "-L", "data", "/dev/loop0" })]
    [InlineData("ext4", false, new[] { "-q", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", "-L", "data", "/dev/loop0" })]
    [InlineData("xfs", true, new[] { "-q", "-K", "-L", "data", "/dev/loop0" })]
    public void MkfsArgs_NeverForceAndExtrasBeforeTheDevice(string fsType, bool assumeZeroed, string[] expected)
    {
        var args = Filesystem.MkfsArgs(fsType, "/dev/loop0", ["-L", "data"], assumeZeroed);

        Assert.Equal(expected, args);
        Assert.DoesNotContain(args, a => a is "-F" or "-f");
    }

    [Theory]
    [InlineData("mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0\n", true)]
    [InlineData("mke2fs 1.47.1-rc1 (1-Jan-2024)", true)]
    [InlineData("mke2fs 1.46.5 (30-Dec-2021)", false)]
    [InlineData("mke2fs 1.45.5 (07-Jan-2020)", false)]
    [InlineData("", false)]
    public void SupportsAssumeZeroed_FromVersion(string output, bool expected) =>
        Assert.Equal(expected, Filesystem.SupportsAssumeZeroed(output));

    [Fact]
    public async Task MakeAsync_Ext4_ProbesMke2fsVersionOnceThenRunsMkfs()
    {
        _runner.On("blkid", [], Fail(Filesystem.BlkidNothingFound, ""));
        _runner.On("mke2fs", ["-V"], new CommandResult(0, "", "mke2fs 1.46.2 (28-Feb-2021)\n"));
        _runner.On("mkfs.ext4", [], Ok());

        await _fs.MakeAsync("/dev/loop0", "ext4", [], CancellationToken.None);
        await _fs.MakeAsync("/dev/loop1", "ext4", [], CancellationToken.None);

        Assert.Single(_runner.CallsTo("mke2fs"));
        Assert.Equal(["-q", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", "/dev/loop1"], _runner.CallsTo("mkfs.ext4").Last());
    }

    [Theory]
    [InlineData("ext4", "DEVNAME=/dev/loop0\nPTTYPE=dos\n")]
    [InlineData("xfs", "DEVNAME=/dev/loop0\nTYPE=ext4\n")]
    public async Task MakeAsync_DeviceCarriesASignature_RefusesWithoutRunningMkfs(string fsType, string export)
    {
        _runner.On("blkid", [], Ok(export));

        var e = await Assert.ThrowsAsync<DeviceNotBlankException>(() => _fs.MakeAsync("/dev/loop0", fsType, [], CancellationToken.None));

        Assert.Contains("refusing", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_runner.Calls, c => c.Program.StartsWith("mkfs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MakeAsync_ProbeFails_DoesNotRunMkfs()
    {
        _runner.On("blkid", [], Fail(4, "blkid: error: /dev/loop0: Input/output error"));

        await Assert.ThrowsAsync<HostCommandException>(() => _fs.MakeAsync("/dev/loop0", "xfs", [], CancellationToken.None));

        Assert.DoesNotContain(_runner.Calls, c => c.Program.StartsWith("mkfs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MakeAsync_UnknownType_Throws() =>
        await Assert.ThrowsAsync<ArgumentException>(() => _fs.MakeAsync("/dev/loop0", "btrfs", [], CancellationToken.None));

    [Theory]
    [InlineData(new string[0], new[] { "-t", "ext4", "/dev/loop0", "/mnt/v" })]
    [InlineData(new[] { "noatime", "discard" }, new[] { "-t", "ext4", "-o", "noatime,discard", "/dev/loop0", "/mnt/v" })]
    public void MountArgs_OptionsJoinedWithCommas(string[] options, string[] expected) =>
        Assert.Equal(expected, Filesystem.MountArgs("/dev/loop0", "/mnt/v", "ext4", options));

    [Theory]
    [InlineData(new string[0], "nouuid")]
    [InlineData(new[] { "noatime" }, "noatime,nouuid")]
    [InlineData(new[] { "nouuid", "noatime" }, "nouuid,noatime")]
    public void MountArgs_Xfs_AlwaysNouuid_SoAClonesCopyOfItsSourcesUuidMountsBesideIt(string[] options, string expected) =>
        Assert.Equal(["-t", "xfs", "-o", expected, "/dev/loop0", "/mnt/v"], Filesystem.MountArgs("/dev/loop0", "/mnt/v", "xfs", options));

    [Fact]
    public async Task MountAsync_SameDeviceAlreadyThere_IsSuccessWithoutMounting()
    {
        _mounts.Entries.Add(new MountEntry("/dev/loop0", "/mnt/v", "ext4"));

        await _fs.MountAsync("/dev/loop0", "/mnt/v", "ext4", [], CancellationToken.None);

        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task MountAsync_OtherDeviceThere_Refuses()
    {
        _mounts.Entries.Add(new MountEntry("/dev/loop5", "/mnt/v", "ext4"));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _fs.MountAsync("/dev/loop0", "/mnt/v", "ext4", [], CancellationToken.None));

        Assert.Contains("/dev/loop5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MountAsync_NotMounted_CreatesTheDirectoryAndMounts()
    {
        var mountpoint = Path.Combine(Path.GetTempPath(), "rbd-plugin-fs-" + Guid.NewGuid().ToString("N"), "v");
        _runner.On("mount", [], Ok());
        try
        {
            await _fs.MountAsync("/dev/loop0", mountpoint, "xfs", ["noatime"], CancellationToken.None);

            Assert.True(Directory.Exists(mountpoint));
            // Root only: unmounted, nothing but root may look into it (the mounted filesystem's root has its own mode).
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(mountpoint));
            Assert.Equal(["-t", "xfs", "-o", "noatime,nouuid", "/dev/loop0", mountpoint], Assert.Single(_runner.CallsTo("mount")));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(mountpoint)!, recursive: true);
        }
    }

    [Fact]
    public async Task MountAsync_ExistingMountpointReadableByOthers_TightenedTo0700BeforeTheMount()
    {
        // Arrange: a mountpoint left by an older version (0755), not mounted.
        var parent = Directory.CreateTempSubdirectory("rbd-plugin-fs-").FullName;
        var mountpoint = Directory.CreateDirectory(Path.Combine(parent, "v")).FullName;
        File.SetUnixFileMode(mountpoint, (UnixFileMode)0b111_101_101);
        _runner.On("mount", [], Ok());
        try
        {
            // Act
            await _fs.MountAsync("/dev/loop0", mountpoint, "ext4", [], CancellationToken.None);

            // Assert
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(mountpoint));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task UnmountAsync_NotMounted_IsSuccessWithoutUmount()
    {
        await _fs.UnmountAsync("/mnt/v", CancellationToken.None);

        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task UnmountAsync_RaceWithAnotherUnmount_NotMountedIsSuccess()
    {
        _mounts.Entries.Add(new MountEntry("/dev/loop0", "/mnt/v", "ext4"));
        _runner.On("umount", [], Fail(32, "umount: /mnt/v: not mounted."));

        await _fs.UnmountAsync("/mnt/v", CancellationToken.None);
    }

    [Fact]
    public async Task UnmountAsync_Busy_Throws()
    {
        _mounts.Entries.Add(new MountEntry("/dev/loop0", "/mnt/v", "ext4"));
        _runner.On("umount", [], Fail(32, "umount: /mnt/v: target is busy."));

        await Assert.ThrowsAsync<HostCommandException>(() => _fs.UnmountAsync("/mnt/v", CancellationToken.None));
    }

    [Theory]
    [InlineData("ext4", "resize2fs", "/dev/loop0")]
    [InlineData("xfs", "xfs_growfs", "/mnt/v")]
    public async Task GrowAsync_UsesTheFilesystemsTool(string fsType, string program, string target)
    {
        _runner.On(program, [], Ok());

        await _fs.GrowAsync("/dev/loop0", "/mnt/v", fsType, CancellationToken.None);

        Assert.Equal([target], Assert.Single(_runner.CallsTo(program)));
    }

    [Fact]
    public async Task GrowAsync_Ext4WithoutCapSysResource_SaysWhatIsMissingTheStateNowAndThatTheNextMountGrowsIt()
    {
        _host.Heads["/dev/loop0"] = Ext4Head(32UL << 20);
        _runner.On("resize2fs", [], Fail(1, "resize2fs 1.47.0 (5-Feb-2023)\nFilesystem at /dev/loop0 is mounted on /mnt/v; on-line resizing required\n" +
            "resize2fs: Permission denied to resize filesystem"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _fs.GrowAsync("/dev/loop0", "/mnt/v", "ext4", CancellationToken.None));

        Assert.Contains("needs the CAP_SYS_RESOURCE capability, which the rbd-plugin daemon does not have", e.Message, StringComparison.Ordinal);
        Assert.Contains("the image and its device /dev/loop0 are 64 MiB now, but the filesystem is still 32 MiB", e.Message, StringComparison.Ordinal);
        Assert.Contains("the next mount of the volume grows it (offline, before mounting", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrowAsync_XfsOperationNotPermitted_NamesCapSysAdmin()
    {
        _runner.On("xfs_growfs", [], Fail(1, "xfs_growfs: XFS_IOC_FSGROWFSDATA xfsctl failed: Operation not permitted"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _fs.GrowAsync("/dev/loop0", "/mnt/v", "xfs", CancellationToken.None));

        Assert.Contains("needs the CAP_SYS_ADMIN capability", e.Message, StringComparison.Ordinal);
        Assert.Contains("filesystem keeps its old size", e.Message, StringComparison.Ordinal); // no superblock to read here
    }

    [Fact]
    public async Task GrowUnmountedAsync_Ext4SmallerThanItsDevice_ChecksThenResizesOffline()
    {
        _host.Heads["/dev/loop0"] = Ext4Head(32UL << 20);
        _runner.On("e2fsck", [], Fail(1, "/dev/loop0: 11/8192 files (0.0% non-contiguous)")); // 1 = errors corrected: still fine
        _runner.On("resize2fs", [], Ok());

        await _fs.GrowUnmountedAsync("/dev/loop0", "ext4", 16UL << 20, CancellationToken.None);

        Assert.Equal(["-f", "-p", "/dev/loop0"], Assert.Single(_runner.CallsTo("e2fsck")));
        Assert.Equal(["/dev/loop0"], Assert.Single(_runner.CallsTo("resize2fs")));
    }

    [Theory]
    [InlineData("ext4", 60)] // within the gap
    [InlineData("xfs", 32)]  // xfs grows only mounted
    public async Task GrowUnmountedAsync_NothingToDoOffline_RunsNothing(string fsType, int fsMiB)
    {
        _host.Heads["/dev/loop0"] = Ext4Head((ulong)fsMiB << 20);

        await _fs.GrowUnmountedAsync("/dev/loop0", fsType, 16UL << 20, CancellationToken.None);

        Assert.Empty(_runner.CallsTo("e2fsck"));
        Assert.Empty(_runner.CallsTo("resize2fs"));
    }

    [Fact]
    public async Task GrowUnmountedAsync_CheckFindsUncorrectedErrors_RefusesToResize()
    {
        _host.Heads["/dev/loop0"] = Ext4Head(32UL << 20);
        _runner.On("e2fsck", [], Fail(4, "/dev/loop0: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY."));

        await Assert.ThrowsAsync<HostCommandException>(() => _fs.GrowUnmountedAsync("/dev/loop0", "ext4", 16UL << 20, CancellationToken.None));

        Assert.Empty(_runner.CallsTo("resize2fs"));
    }

    private static byte[] Ext4Head(ulong bytes) => SuperblockHeads.Ext4((uint)(bytes / 4096));

    [Fact]
    public async Task GrowAsync_Ext4OtherFailure_ReportsTheCommandAndItsStderr()
    {
        _runner.On("resize2fs", [], Fail(1, "resize2fs: Bad magic number in super-block"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _fs.GrowAsync("/dev/loop0", "/mnt/v", "ext4", CancellationToken.None));

        Assert.Contains("Bad magic number", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("CAP_SYS_RESOURCE", e.Message, StringComparison.Ordinal);
    }
}
