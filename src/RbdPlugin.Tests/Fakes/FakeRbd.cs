using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RbdPlugin.Backups;
using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Volumes;
using RbdPlugin.Tests.Backups;

namespace RbdPlugin.Tests.Fakes;

/// <summary>
/// The backup code over fakes, built by the production graph: an in-memory cluster (its snapshots are the backup
/// snapshots), and an `rbd` whose export-diff writes a real diff file (so the verifier reads what the creator wrote).
/// </summary>
internal sealed class FakeRbd : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly string _keyDir;

    /// <param name="maxSizeBytes">The MaxSize setting; default the plugin's.</param>
    public FakeRbd(ulong? maxSizeBytes = null)
    {
        Root = System.IO.Directory.CreateTempSubdirectory("rbd-plugin-backup-").FullName;
        _keyDir = System.IO.Directory.CreateTempSubdirectory("rbd-plugin-backup-key-").FullName;
        KeyFile = Path.Combine(_keyDir, "kek");
        KeyEncryptionKey.WriteNew(KeyFile);
        Settings = new VolumeSettings
        {
            Pool = "rbd", AllowedPools = ["rbd"], MountRoot = "/nonexistent", StateDir = "/nonexistent", HostId = "host-a", EncryptionKeyFile = KeyFile,
        };
        if (maxSizeBytes is { } max)
        {
            Settings = Settings with { MaxSizeBytes = max };
        }

        Runner.On("rbd", ["export-diff"], Export)
            .On("rbd", ["import-diff"], _ => FakeCommandRunner.Ok());
        _services = new ServiceCollection()
            .AddFakeCeph(Ceph, Settings, LeaseIdentity.ForCommand(Settings.HostId), Time)
            .AddSingleton<ICommandRunner>(Runner)
            .AddSingleton(new CephClientArgs("/etc/ceph/ceph.conf", "docker", "/etc/ceph/keyring"))
            .AddSingleton<IBackupSnapshots, PlainBackupSnapshots>()
            .AddSingleton<RbdDiff>()
            .AddSingleton<BackupCreator>()
            .AddSingleton<BackupRestorer>()
            .BuildServiceProvider();
    }

    public string Root { get; }

    /// <summary>The key-encryption key's file (EncryptionKeyFile), read at each use: replace it to change the key.</summary>
    public string KeyFile { get; }
    public VolumeSettings Settings { get; }
    public FakeCeph Ceph { get; } = new();
    public FakeCommandRunner Runner { get; } = new();
    public FakeTimeProvider Time { get; } = new(BackupFiles.T0);

    public BackupDirectory Dir => BackupDirectory.Open(Root);

    public BackupCreator Creator() => _services.GetRequiredService<BackupCreator>();

    public BackupRestorer Restorer() => _services.GetRequiredService<BackupRestorer>();

    public VolumeCatalog Catalog => _services.GetRequiredService<VolumeCatalog>();

    public Task<VolumeRecord> CreateVolumeAsync(string name, VolumeSpec? spec = null) =>
        _services.GetRequiredService<VolumeStore>().CreateAsync(name, spec ?? BackupFiles.Spec, CancellationToken.None);

    /// <summary>The wrapped passphrase in the image's metadata, parsed.</summary>
    public WrappedPassphrase WrappedKeyOf(ImageRef image) =>
        WrappedPassphrase.FromJson(Ceph.Images[image].Metadata[WrappedPassphrase.MetadataKey]) ?? throw new InvalidOperationException($"{image} holds no wrapped key");

    /// <summary>The names of the snapshots on "pool/image" (a live view: adding or clearing changes the cluster).</summary>
    public ICollection<string> SnapsOf(string image)
    {
        var parts = image.Split('/');
        return new SnapshotNames(Ceph, new ImageRef(parts[0], "", parts[1]));
    }

    /// <summary>How many snapshot removals the backup code asked the cluster for.</summary>
    public int SnapshotRemovals => Ceph.Calls.Count(c => c == "RemoveSnapshot");

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(Root, recursive: true);
        Directory.Delete(_keyDir, recursive: true);
    }

    private sealed class SnapshotNames(FakeCeph ceph, ImageRef image) : ICollection<string>
    {
        private List<SnapshotInfo> List => ceph.Snapshots.GetOrAdd(image, _ => []);

        public int Count => List.Count;
        public bool IsReadOnly => false;

        public void Add(string item) => List.Add(new SnapshotInfo((ulong)List.Count + 1000, item, 0, DateTimeOffset.UnixEpoch));
        public void Clear() => List.Clear();
        public bool Contains(string item) => List.Any(s => s.Name == item);
        public void CopyTo(string[] array, int arrayIndex) => List.Select(s => s.Name).ToList().CopyTo(array, arrayIndex);
        public bool Remove(string item) => List.RemoveAll(s => s.Name == item) > 0;
        public IEnumerator<string> GetEnumerator() => List.Select(s => s.Name).ToList().GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>rbd export-diff [--from-snap F] ... IMAGE@SNAP PATH: a small diff with the right header.</summary>
    private CommandResult Export(IReadOnlyList<string> args)
    {
        var from = args.Contains("--from-snap") ? args[args.ToList().IndexOf("--from-snap") + 1] : null;
        File.WriteAllBytes(args[^1], BackupFiles.Diff(from, args[^2].Split('@')[1], BackupFiles.Spec.SizeBytes, [1, 2, 3, 4]));
        return FakeCommandRunner.Ok();
    }
}
