using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using RbdPlugin.Hosting;
using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Fakes;

/// <summary>
/// A VolumeDriver over fakes, built by the daemon's own composition root (<see cref="ServiceGraph"/>) with the
/// Ceph services and this host's mapper, filesystem and mount table replaced by fakes; a temp state dir and a
/// controllable clock.
/// </summary>
internal sealed class DriverHarness : IDisposable
{
    private IServiceProvider _services;
    private ServiceProvider? _owned;

    /// <param name="ioLimits">Whether this host's mapper enforces I/O limits (false: as krbd).</param>
    /// <param name="encryption">Whether this host's mapper serves encrypted volumes (false: as the fuse mapper).</param>
    public DriverHarness(ulong? mapperFeatures = null, RemoveAction removeAction = RemoveAction.Trash, bool ioLimits = true, bool encryption = true)
    {
        Root = Directory.CreateTempSubdirectory("rbd-plugin-test-").FullName;
        KeyFile = Path.Combine(Root, "kek");
        Kid = KeyEncryptionKey.WriteNew(KeyFile);
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
            EncryptionKeyFile = KeyFile,
        };
        Ceph.Clock = Time;
        Host = new FakeHost { SupportedFeatures = mapperFeatures, AppliesIoLimits = ioLimits, OpensEncrypted = encryption, Cluster = Ceph };
        Namespaces = new FakeMountNamespaces(Host);
        _services = _owned = Build();
    }

    public string Root { get; }

    /// <summary>This host's key-encryption key file (EncryptionKeyFile) and its key id.</summary>
    public string KeyFile { get; }
    public string Kid { get; }
    public VolumeSettings Settings { get; }
    public FakeCeph Ceph { get; } = new();
    public FakeHost Host { get; }

    /// <summary>The host's other mount namespaces (containers'), as the reconciler reads them.</summary>
    public FakeMountNamespaces Namespaces { get; }

    /// <summary>What this host's files and programs look like (devices in use, /sys files).</summary>
    public FakeHostProbe Probe { get; } = new();

    /// <summary>The mapper new mounts use from the next (re)start on, when not <see cref="Host"/>'s own (an operator
    /// switched the Mapper setting); <see cref="Host"/> stays registered for what it mapped.</summary>
    public FakeHost? ActiveMapper { get; set; }
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-27T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public MountJournal Journal => Get<MountJournal>();
    public VolumeDriver Driver => Get<VolumeDriver>();
    public LeaseAcquirer Leases => Get<LeaseAcquirer>();
    public LeaseRenewer Renewer => Get<LeaseRenewer>();
    public LeaseFencer Fencer => Get<LeaseFencer>();
    public LeaseRetirer Retirer => Get<LeaseRetirer>();
    public LeaseInspector Inspector => Get<LeaseInspector>();
    public LeaseEvents LeaseEvents => Get<LeaseEvents>();

    /// <summary>Any service of the graph (the store, the trash, the operations' building blocks...).</summary>
    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Simulates a daemon restart: a new graph (journal read from disk, new driver and leases), same host and cluster.</summary>
    public async Task<ReconcileReport> RestartAsync()
    {
        _owned?.Dispose();
        Ceph.InstanceId++; // a new process is a new librados instance: its old locks are someone else's to the OSD
        _services = _owned = Build();
        return await Get<Reconciler>().RunAsync(CancellationToken.None);
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

    /// <summary>From now on the harness's services are those of <paramref name="provider"/> (a web app built over
    /// <see cref="AddTo(IServiceCollection)"/>), so the test and the app share one driver, one journal, one set of leases.</summary>
    public void Use(IServiceProvider provider)
    {
        _owned?.Dispose();
        _owned = null;
        _services = provider;
    }

    /// <summary>Simulates the daemon dying: its graph is gone (no more renewals), the cluster and host stay.</summary>
    public void Stop() => _owned?.Dispose();

    /// <summary>A second daemon's graph over the same cluster, host and clock, with other settings.</summary>
    public ServiceProvider Another(VolumeSettings settings, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        AddTo(services, settings, time ?? Time);
        return services.BuildServiceProvider();
    }

    public void Dispose()
    {
        _owned?.Dispose();
        Directory.Delete(Root, recursive: true);
    }

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        AddTo(services);
        return services.BuildServiceProvider();
    }

    /// <summary>Registers the graph over the fakes into <paramref name="services"/>.</summary>
    public void AddTo(IServiceCollection services) => AddTo(services, Settings, Time);

    private void AddTo(IServiceCollection services, VolumeSettings settings, TimeProvider time)
    {
        services.AddFakeCeph(Ceph, settings, LeaseIdentity.ForDaemon(settings.HostId, settings.StateDir), time);
        services.AddSingleton(new MapperSet(ActiveMapper ?? Host, ActiveMapper is null ? [Host] : [Host, ActiveMapper]));
        services.AddSingleton<IFilesystem>(Host);
        services.AddSingleton<IMountTable>(Host);
        services.AddSingleton<IMountNamespaces>(Namespaces);
        services.AddSingleton<ICryptDevices>(Host);
        services.AddSingleton<IHostProbe>(Probe);
        services.AddHostVolumes(settings);
        // The background loops (trash purger, unused-mount reaper) are driven by the tests themselves, on fake time.
        services.RemoveAll<Microsoft.Extensions.Hosting.IHostedService>();
    }
}
