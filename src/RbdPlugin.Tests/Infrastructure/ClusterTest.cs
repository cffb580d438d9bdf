using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Base of the cluster-tier test classes: the shared connection, and cleanup of every image, trash entry and RADOS
/// object a test made, whatever the test's outcome.
/// </summary>
[Collection(SharedCephCluster.Name)]
[Trait("Tier", "Cluster")]
public abstract class ClusterTest : IAsyncLifetime
{
    private readonly List<ImageRef> _images = [];
    private readonly List<(string Pool, string Id)> _trash = [];
    private readonly List<(string Pool, string Ns, string Object)> _objects = [];

    protected ClusterTest(CephClusterFixture fixture) => Cluster = fixture.Cluster;

    internal CephClient Cluster { get; }

    /// <summary>A fresh image name in the default (or given) pool, removed after the test.</summary>
    internal ImageRef NewImage(string? pool = null)
    {
        var image = DevCluster.NewImage(pool);
        _images.Add(image);
        return image;
    }

    /// <summary>Creates a small image with the given metadata through the code under test.</summary>
    internal async Task<ImageRef> CreateImageAsync(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var image = NewImage();
        await Cluster.Images.CreateImageAsync(
            new ImageCreateRequest(image, 16UL << 20, null, null, null, (metadata ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, string? (kv) => kv.Value)), CancellationToken.None);
        return image;
    }

    internal void TrackTrash(string pool, string id) => _trash.Add((pool, id));

    /// <summary>A fresh RADOS object name, removed after the test.</summary>
    internal string NewObject(string pool, string ns = "")
    {
        var name = DevCluster.NewName();
        TrackObject(pool, ns, name);
        return name;
    }

    internal void TrackObject(string pool, string ns, string name) => _objects.Add((pool, ns, name));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Best effort: a test that failed halfway must not leave debris for the next run, nor hide its own failure.
        // Newest first, so a clone goes before its parent; snapshots first, or rm refuses.
        foreach (var image in Enumerable.Reverse(_images))
        {
            await CephCli.RunAsync("rbd", "snap", "purge", "--no-progress", image.ToString());
            await CephCli.RunAsync("rbd", "rm", "--no-progress", image.ToString());
        }

        foreach (var (pool, id) in _trash)
        {
            await CephCli.RunAsync("rbd", "trash", "rm", "--force", "--no-progress", $"{pool}/{id}");
        }

        foreach (var (pool, ns, name) in _objects)
        {
            await CephCli.RunAsync("rados", ["-p", pool, .. (ns.Length > 0 ? new[] { "-N", ns } : []), "rm", name]);
        }
    }
}
