using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// A real device that fails every read, on this kernel without dm or nbd: a loop device over a file on an xfs that
/// was shut down (XFS_IOC_GOINGDOWN, `xfs_io -x -c shutdown`), after which every read of the file is EIO. The file
/// holds an ext4 filesystem, i.e. data. blkid then says "nothing found", exactly as for an empty device.
/// </summary>
[Trait("Tier", "Cluster")]
public sealed class FilesystemUnreadableDeviceTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-eio-").FullName;
    private readonly CommandRunner _runner = new(NullLogger<CommandRunner>.Instance);
    private readonly RecordingRunner _recorded;
    private readonly Filesystem _fs;
    private string? _lowerLoop;
    private string? _deviceLoop;
    private bool _lowerMounted;

    public FilesystemUnreadableDeviceTests()
    {
        _recorded = new RecordingRunner(_runner);
        _fs = new Filesystem(_recorded, new MountInfoTable(), new HostProbe(), NullLogger<Filesystem>.Instance);
    }

    private string LowerMount => Path.Combine(_root, "lower");

    public async Task InitializeAsync()
    {
        // The lower xfs (300 MiB: mkfs.xfs's minimum), sparse on the host's disk.
        var lowerFile = Path.Combine(_root, "lower.img");
        await using (var file = File.Create(lowerFile))
        {
            file.SetLength(300L << 20);
        }

        _lowerLoop = await LosetupAsync(lowerFile);
        await Run("mkfs.xfs", "-q", _lowerLoop);
        Directory.CreateDirectory(LowerMount);
        await Run("mount", _lowerLoop, LowerMount);
        _lowerMounted = true;

        // The device under test: 64 MiB holding an ext4 filesystem.
        var deviceFile = Path.Combine(LowerMount, "volume.img");
        await using (var file = File.Create(deviceFile))
        {
            file.SetLength(64L << 20);
        }

        await Run("mkfs.ext4", "-q", "-F", deviceFile);
        _deviceLoop = await LosetupAsync(deviceFile);
    }

    public async Task DisposeAsync()
    {
        if (_deviceLoop is not null)
        {
            await _runner.TryRunAsync("losetup", ["-d", _deviceLoop], CancellationToken.None);
        }

        if (_lowerMounted)
        {
            await _runner.TryRunAsync("umount", [LowerMount], CancellationToken.None);
        }

        if (_lowerLoop is not null)
        {
            await _runner.TryRunAsync("losetup", ["-d", _lowerLoop], CancellationToken.None);
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task MakeAsync_DeviceReturnsIoErrorsAndBlkidCallsItEmpty_RefusesAndRunsNoMkfs()
    {
        // Arrange: the data is there and blkid sees it, until the device's reads start failing.
        Assert.Equal("ext4", await _fs.ProbeAsync(_deviceLoop!, CancellationToken.None));
        await Run("xfs_io", "-x", "-c", "shutdown", LowerMount);
        await Run("blockdev", "--flushbufs", _deviceLoop!); // what blkid read before stays in no cache
        Assert.Null(await _fs.ProbeAsync(_deviceLoop!, CancellationToken.None)); // the hazard: EIO reads as "empty"
        _recorded.Calls.Clear();

        // Act
        var e = await Assert.ThrowsAsync<HostCommandException>(() => _fs.MakeAsync(_deviceLoop!, "ext4", [], CancellationToken.None));

        // Assert
        Assert.Contains($"cannot read {_deviceLoop}", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was formatted", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_recorded.Calls, c => c.StartsWith("mkfs", StringComparison.Ordinal) || c.StartsWith("mke2fs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadDirect_ReadableDevice_ReturnsItsBytesFromTheDevice()
    {
        // Act
        var head = new HostProbe().ReadDirect(_deviceLoop!, 0, 4096);

        // Assert: the ext4 magic 0xEF53 at 1024 + 0x38, read with O_DIRECT.
        Assert.Equal(4096, head.Length);
        Assert.Equal([0x53, 0xEF], head[(1024 + 0x38)..(1024 + 0x3A)]);
    }

    private async Task<string> LosetupAsync(string file) =>
        // losetup --find --show FILE
        (await _runner.RunAsync("losetup", ["--find", "--show", file], CancellationToken.None)).Stdout.Trim();

    private Task<CommandResult> Run(string program, params string[] args) => _runner.RunAsync(program, args, CancellationToken.None);

    /// <summary>The real runner, remembering which programs were started.</summary>
    private sealed class RecordingRunner(ICommandRunner inner) : ICommandRunner
    {
        public List<string> Calls { get; } = [];

        public Task<CommandResult> RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct,
            IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
        {
            Calls.Add(program);
            return inner.RunAsync(program, args, ct, env, timeout);
        }

        public Task<CommandResult> TryRunAsync(string program, IReadOnlyList<string> args, CancellationToken ct,
            IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
        {
            Calls.Add(program);
            return inner.TryRunAsync(program, args, ct, env, timeout);
        }

        public Task<CommandResult> RunWithInputAsync(string program, IReadOnlyList<string> args, Func<Stream, CancellationToken, Task> input,
            CancellationToken ct, TimeSpan? timeout = null)
        {
            Calls.Add(program);
            return inner.RunWithInputAsync(program, args, input, ct, timeout);
        }
    }
}
