using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Node;

/// <summary>
/// One test's share of the real host and cluster: its own state and mount directories, the real mapper and
/// filesystem, and everything it created, which <see cref="DisposeAsync"/> tears down in reverse (unmount,
/// unmap, losetup -d, rbd rm) so the next run starts clean even after a failure.
/// </summary>
internal sealed class NodeClusterScope : IAsyncLifetime
{
    private readonly List<ImageRef> _images = [];
    private readonly List<string> _namespaces = [];
    private readonly List<string> _loopFiles = [];

    public NodeClusterScope()
    {
        Cluster = DevClusterEnv.Require();
        Root = Directory.CreateTempSubdirectory("rbd-plugin-node-").FullName;
        Runner = new CommandRunner(NullLogger<CommandRunner>.Instance);
        Mounts = new MountInfoTable();
        Mapper = NewMapper();
        Fs = new Filesystem(Runner, Mounts, new HostProbe(), NullLogger<Filesystem>.Instance);
        Rbd = new RbdCli(Cluster, Runner);
    }

    public DevClusterEnv Cluster { get; }

    public string Root { get; }

    public string StateDir => Path.Combine(Root, "state");

    public string MountRoot => Path.Combine(Root, "mounts");

    public CommandRunner Runner { get; }

    public MountInfoTable Mounts { get; }

    public FuseLoopMapper Mapper { get; }

    public Filesystem Fs { get; }

    public RbdCli Rbd { get; }

    /// <summary>Another mapper over the same state dir, as a restarted daemon would build it.</summary>
    public FuseLoopMapper NewMapper() => new(Runner, Cluster.Client, Mounts, new HostProbe(), StateDir, TimeProvider.System, NullLogger<FuseLoopMapper>.Instance);

    public async Task<ImageRef> CreateImageAsync(string size, string ns = "")
    {
        var image = await Rbd.CreateImageAsync(size, ns);
        _images.Add(image);
        return image;
    }

    public async Task CreateNamespaceAsync(string ns)
    {
        _namespaces.Add(ns);
        await Rbd.CreateNamespaceAsync(ns);
    }

    /// <summary>A loop device over a temp file of the given content, detached at the end.</summary>
    public async Task<string> LoopOverFileAsync(byte[] content)
    {
        var file = Path.Combine(Root, $"loop-{_loopFiles.Count}.img");
        await File.WriteAllBytesAsync(file, content);
        _loopFiles.Add(file);
        // losetup --find --show FILE
        return (await Runner.RunAsync("losetup", ["--find", "--show", file], CancellationToken.None)).Stdout.Trim();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        var errors = new List<Exception>();
        async Task Try(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }

        // Filesystems first (deepest first), then the mappings under them, then loop devices, images, namespaces.
        foreach (var mount in Mounts.Read().Where(m => m.MountPoint.StartsWith(MountRoot + "/", StringComparison.Ordinal)).Reverse())
        {
            await Try(() => Fs.UnmountAsync(mount.MountPoint, CancellationToken.None));
        }
        foreach (var mapped in await Mapper.ListMappedAsync(CancellationToken.None))
        {
            await Try(() => Mapper.UnmapAsync(mapped, CancellationToken.None));
        }
        var loops = LoopDeviceList.Parse((await Runner.RunAsync("losetup", FuseLayout.LosetupListArgs, CancellationToken.None)).Stdout);
        foreach (var loop in loops.Where(l => _loopFiles.Contains(l.BackingFile)))
        {
            await Try(() => Runner.RunAsync("losetup", ["-d", loop.Device], CancellationToken.None));
        }
        foreach (var image in _images)
        {
            await Try(() => Rbd.RemoveImageAsync(image));
        }
        foreach (var ns in _namespaces)
        {
            await Try(() => Rbd.RemoveNamespaceAsync(ns));
        }
        // Only delete the directory tree when nothing is mounted inside it any more.
        if (!Mounts.Read().Any(m => m.MountPoint.StartsWith(Root + "/", StringComparison.Ordinal)))
        {
            await Try(() => Task.Run(() => Directory.Delete(Root, recursive: true)));
        }
        else
        {
            errors.Add(new InvalidOperationException($"mounts left under {Root}; not deleting it"));
        }
        if (errors.Count > 0)
        {
            throw new AggregateException("cleanup failed", errors);
        }
    }
}
