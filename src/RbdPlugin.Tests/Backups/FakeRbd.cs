using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RbdPlugin.Backups;
using RbdPlugin.Node;
using RbdPlugin.Tests.Node;
using RbdPlugin.Tests.Volumes.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Backups;

/// <summary>
/// The backup code over fakes: an in-memory cluster, and an `rbd` whose snap create/ls/rm keep a per-image set of
/// snapshots and whose export-diff writes a real diff file (so the verifier reads what the creator wrote).
/// </summary>
internal sealed class FakeRbd : IDisposable
{
    public FakeRbd()
    {
        Root = System.IO.Directory.CreateTempSubdirectory("rbd-plugin-backup-").FullName;
        Settings = new VolumeSettings { Pool = "rbd", AllowedPools = ["rbd"], MountRoot = "/nonexistent", StateDir = "/nonexistent", HostId = "host-a" };
        var client = new CephClientArgs("/etc/ceph/ceph.conf", "docker", "/etc/ceph/keyring");
        Snapshots = new RbdCliBackupSnapshots(Runner, client);
        Diff = new RbdDiff(Runner, client);
        Runner.On("rbd", ["snap", "create"], args => Change(args, add: true))
            .On("rbd", ["snap", "rm"], args => Change(args, add: false))
            .On("rbd", ["snap", "ls"], args => FakeCommandRunner.Ok(JsonSerializer.Serialize(
                SnapsOf(args[^1]).Select(n => new Dictionary<string, string> { ["name"] = n }))))
            .On("rbd", ["export-diff"], Export)
            .On("rbd", ["import-diff"], _ => FakeCommandRunner.Ok());
    }

    public string Root { get; }
    public VolumeSettings Settings { get; }
    public FakeCeph Ceph { get; } = new();
    public FakeCommandRunner Runner { get; } = new();
    public FakeTimeProvider Time { get; } = new(BackupFiles.T0);
    public RbdCliBackupSnapshots Snapshots { get; }
    public RbdDiff Diff { get; }
    public Dictionary<string, HashSet<string>> Snaps { get; } = [];

    public BackupDirectory Dir => BackupDirectory.Open(Root);

    public BackupCreator Creator() => new(Ceph, Settings, Snapshots, Diff, Time);

    public BackupRestorer Restorer() => new(Ceph, Settings, Snapshots, Diff, Time);

    public Task<VolumeRecord> CreateVolumeAsync(string name) =>
        new VolumeStore(Ceph, new VolumeCatalog(Ceph, Settings), Settings, Time, NullLogger.Instance).CreateAsync(name, BackupFiles.Spec, CancellationToken.None);

    public HashSet<string> SnapsOf(string image) => Snaps.TryGetValue(image, out var set) ? set : Snaps[image] = [];

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private CommandResult Change(IReadOnlyList<string> args, bool add)
    {
        var at = args[^1].Split('@');
        var snaps = SnapsOf(at[0]);
        return (add ? snaps.Add(at[1]) : snaps.Remove(at[1])) ? FakeCommandRunner.Ok() : FakeCommandRunner.Fail(2, "rbd: (2) No such file or directory");
    }

    /// <summary>rbd export-diff [--from-snap F] ... IMAGE@SNAP PATH: a small diff with the right header.</summary>
    private CommandResult Export(IReadOnlyList<string> args)
    {
        var from = args.Contains("--from-snap") ? args[args.ToList().IndexOf("--from-snap") + 1] : null;
        File.WriteAllBytes(args[^1], BackupFiles.Diff(from, args[^2].Split('@')[1], BackupFiles.Spec.SizeBytes, [1, 2, 3, 4]));
        return FakeCommandRunner.Ok();
    }
}
