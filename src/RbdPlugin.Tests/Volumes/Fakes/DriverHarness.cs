using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Fakes;

/// <summary>A VolumeDriver over fakes, with a temp state dir and a controllable clock.</summary>
internal sealed class DriverHarness : IDisposable
{
    public DriverHarness(ulong? mapperFeatures = null, RemoveAction removeAction = RemoveAction.Trash)
    {
        Root = Directory.CreateTempSubdirectory("rbd-plugin-test-").FullName;
        Settings = new VolumeSettings
        {
            Pool = "rbd",
            AllowedPools = ["rbd", "rbd-extra"],
            MountRoot = Path.Combine(Root, "mnt"),
            StateDir = Path.Combine(Root, "state"),
            HostId = "host-a",
            RemoveAction = removeAction,
            UnmountGrace = TimeSpan.FromSeconds(2),
            LeaseDuration = TimeSpan.FromSeconds(30),
            LeaseWait = TimeSpan.Zero,
        };
        Ceph.Clock = Time;
        Host = new FakeHost { SupportedFeatures = mapperFeatures };
        Journal = new MountJournal(Settings.StateDir);
        Leases = NewLeases();
        Driver = NewDriver(Journal);
    }

    public LeaseKeeper Leases { get; private set; }

    private LeaseKeeper NewLeases() => new(Ceph, Settings, Time, NullLogger<LeaseKeeper>.Instance);

    public string Root { get; }
    public VolumeSettings Settings { get; }
    public FakeCeph Ceph { get; } = new();
    public FakeHost Host { get; }
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-27T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    public MountJournal Journal { get; private set; }
    public VolumeDriver Driver { get; private set; }

    public VolumeDriver NewDriver(MountJournal journal) => new(Ceph, new VolumeCatalog(Ceph, Settings), journal,
        new MapperSet(Host, [Host]), Host, Settings, Leases, Time, NullLogger<VolumeDriver>.Instance);

    /// <summary>Simulates a daemon restart: a new journal read from disk and a new driver, same host and cluster.</summary>
    public async Task<ReconcileReport> RestartAsync()
    {
        Driver.Dispose();
        Leases.Dispose();
        Ceph.InstanceId++; // a new process is a new librados instance: its old locks are someone else's to the OSD
        Journal = new MountJournal(Settings.StateDir);
        Leases = NewLeases();
        Driver = NewDriver(Journal);
        var reconciler = new Reconciler(Journal, Driver, Leases, new MapperSet(Host, [Host]), Host, Host, Settings, NullLogger<Reconciler>.Instance);
        return await reconciler.RunAsync(CancellationToken.None);
    }

    /// <summary>Moves the clock past the grace period and waits for the background release to finish.</summary>
    public async Task PassGraceAsync()
    {
        Time.Advance(Settings.UnmountGrace + TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < 200 && Journal.All.Any(e => e.TotalRefs == 0); i++)
        {
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        Driver.Dispose();
        Leases.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
