using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using static RbdPlugin.Tests.Fakes.FakeCommandRunner;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// What MakeAsync demands of a device before it formats it (invariant 2): blkid's "nothing found" (exit 2, no
/// output) is also its answer when every read fails, so the device must first read back, directly, and as zeros.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class FilesystemBeforeMkfsTests
{
    private const string Device = "/dev/loop0";
    private const ulong Size = 64UL << 20;
    private readonly FakeCommandRunner _runner = new();
    private readonly FakeHostProbe _host = new();
    private readonly Filesystem _fs;

    public FilesystemBeforeMkfsTests()
    {
        _fs = new Filesystem(_runner, new FakeMountTable(), _host, NullLogger<Filesystem>.Instance);
        _host.Paths.Add(Device);
        _host.DeviceSizes[Device] = Size;
        _runner.On("blkid", [], Fail(Filesystem.BlkidNothingFound, "")); // what blkid says both for "empty" and for EIO
        _runner.On("mke2fs", ["-V"], new CommandResult(0, "", "mke2fs 1.47.0 (5-Feb-2023)\n"));
        _runner.On("mkfs.ext4", [], Ok());
        _runner.On("mkfs.xfs", [], Ok());
    }

    private bool RanMkfs => _runner.Calls.Any(c => c.Program.StartsWith("mkfs", StringComparison.Ordinal));

    [Theory]
    [InlineData("ext4", 0L)]
    [InlineData("xfs", 0L)]
    [InlineData("ext4", (long)(Size - (1 << 20)))]
    public async Task MakeAsync_DirectReadHitsAnIoError_RefusesWithoutRunningMkfs(string fsType, long failingOffset)
    {
        // Arrange: the device fails reads (at its start, or only at its end) while blkid calls it empty.
        _host.FailDirectRead = (_, offset) => offset == failingOffset ? new IOException("Input/output error") : null;

        // Act
        var e = await Assert.ThrowsAsync<HostCommandException>(() => _fs.MakeAsync(Device, fsType, [], CancellationToken.None));

        // Assert
        Assert.Contains($"cannot read {Device}", e.Message, StringComparison.Ordinal);
        Assert.Contains("Input/output error", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was formatted", e.Message, StringComparison.Ordinal);
        Assert.False(RanMkfs);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(65536L + 3)]
    [InlineData((4L << 20) - 1)]
    public async Task MakeAsync_NoSignatureButDataInTheFirstMiBs_RefusesWithoutRunningMkfs(long offset)
    {
        // Arrange: blkid knows no signature here, but the head is not blank (a damaged superblock, an unknown format).
        var content = new byte[4 << 20];
        content[offset] = 0x5a;
        _host.DeviceBytes[Device] = content;

        // Act
        var e = await Assert.ThrowsAsync<DeviceNotBlankException>(() => _fs.MakeAsync(Device, "ext4", [], CancellationToken.None));

        // Assert
        Assert.Contains($"byte {offset}", e.Message, StringComparison.Ordinal);
        Assert.Contains("no signature", e.Message, StringComparison.Ordinal);
        Assert.False(RanMkfs);
    }

    [Fact]
    public async Task MakeAsync_NoSignatureButDataInTheLastMiB_RefusesWithoutRunningMkfs()
    {
        // Arrange: a backup GPT header or an md 1.0 superblock lives at the end of the device.
        var content = new byte[Size];
        content[Size - 512] = 0x45;
        _host.DeviceBytes[Device] = content;

        // Act
        var e = await Assert.ThrowsAsync<DeviceNotBlankException>(() => _fs.MakeAsync(Device, "xfs", [], CancellationToken.None));

        // Assert
        Assert.Contains($"byte {Size - 512}", e.Message, StringComparison.Ordinal);
        Assert.False(RanMkfs);
    }

    [Fact]
    public async Task MakeAsync_ReadableAndZeroed_ReadsHeadAndTailDirectlyThenFormats()
    {
        // Act
        await _fs.MakeAsync(Device, "ext4", [], CancellationToken.None);

        // Assert
        Assert.Equal([(Device, 0L, Filesystem.HeadCheckBytes), (Device, (long)Size - Filesystem.TailCheckBytes, Filesystem.TailCheckBytes)], _host.DirectReads);
        Assert.Single(_runner.CallsTo("mkfs.ext4"));
    }

    [Fact]
    public async Task MakeAsync_DeviceSmallerThanTheChecks_ReadsWhatThereIsThenFormats()
    {
        // Arrange
        _host.DeviceSizes[Device] = 3UL << 20;

        // Act
        await _fs.MakeAsync(Device, "xfs", [], CancellationToken.None);

        // Assert
        Assert.Equal((Device, 0L, Filesystem.HeadCheckBytes), _host.DirectReads[0]);
        Assert.Single(_runner.CallsTo("mkfs.xfs"));
    }

    [Fact]
    public async Task MakeAsync_SignatureFound_RefusalNamesIt()
    {
        // Arrange
        _runner.On("blkid", [], Ok("DEVNAME=/dev/loop0\nPTTYPE=dos\n"));

        // Act
        var e = await Assert.ThrowsAsync<DeviceNotBlankException>(() => _fs.MakeAsync(Device, "ext4", [], CancellationToken.None));

        // Assert
        Assert.Contains("'dos' signature", e.Message, StringComparison.Ordinal);
        Assert.False(RanMkfs);
    }
}
