using Microsoft.Extensions.DependencyInjection.Extensions;
using RbdPlugin.Backups;
using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Hosting;

/// <summary>
/// The one place the object graph is built, for the daemon (<see cref="PluginHost"/>) and for each runbook command
/// (<see cref="CommandSession"/>) alike: each layer is one extension method, and every type gets its logger, its
/// clock and its collaborators from the container.
/// </summary>
internal static class ServiceGraph
{
    /// <summary>The tools' Ceph run directory under StateDir (<see cref="CephClientArgs.RunDir"/>).</summary>
    public const string CephRunDirName = "ceph-run";

    /// <summary>The control plane: the one connection and the task-shaped services over it.</summary>
    public static IServiceCollection AddCeph(this IServiceCollection services, CephConnection connection)
    {
        services.AddSingleton(connection);
        services.AddSingleton<ICephImages, CephImages>();
        services.AddSingleton<ICephSnapshots, CephSnapshots>();
        services.AddSingleton<ICephTrash, CephTrash>();
        services.AddSingleton<IRadosOmap, RadosOmap>();
        services.AddSingleton<IRadosLocks, RadosLocks>();
        services.AddSingleton<ICephAdmin, CephAdmin>();
        return services;
    }

    /// <summary>The volume domain on Ceph, everything that does not touch this host: the index, create and remove,
    /// clones, snapshots, resize, the trash, and the leases taken as <paramref name="identity"/>.</summary>
    public static IServiceCollection AddVolumes(this IServiceCollection services, VolumeSettings settings, LeaseIdentity identity)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton(identity);
        services.AddSingleton<VolumeCatalog>();
        services.AddSingleton<ImageStaging>();
        services.AddSingleton<VolumeStore>();
        services.AddSingleton<VolumeRemover>();
        services.AddSingleton<VolumeClones>();
        services.AddSingleton<VolumeResizer>();
        services.AddSingleton<VolumeLimiter>();
        services.AddSingleton<VolumeSnapshots>();
        services.AddSingleton<FormatMarks>();
        services.AddSingleton<VolumeKeys>();
        services.AddSingleton<TrashIndex>();
        services.AddSingleton<VolumeTrash>();
        services.AddSingleton<LeaseObjects>();
        services.AddSingleton<LeaseEvents>();
        services.AddSingleton<LeaseRenewer>();
        services.AddSingleton<FenceIndex>();
        services.AddSingleton<LeaseFencer>();
        services.AddSingleton<LeaseAcquirer>();
        services.AddSingleton<LeaseRetirer>();
        services.AddSingleton<LeaseInspector>();
        return services;
    }

    /// <summary>This host's data plane: the one command runner, the mappers (the setting's one for new mounts, every
    /// one for releasing what the journal says an earlier run mapped), the filesystem and the mount tables.</summary>
    public static IServiceCollection AddNode(this IServiceCollection services, PluginOptions raw, VolumeSettings settings)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ICommandRunner, CommandRunner>();
        // The tools run with a Ceph run dir of the plugin's own (StateDir/ceph-run), never the one a host's ceph.conf names.
        services.AddSingleton(new CephClientArgs(raw.CephConf, raw.CephId, raw.Keyring, Path.Combine(settings.StateDir, CephRunDirName)));
        services.AddSingleton<IHostProbe, HostProbe>();
        services.AddSingleton<IMountTable, MountInfoTable>();
        services.AddSingleton<IMountNamespaces, MountNamespaces>();
        services.AddSingleton<IFilesystem, Filesystem>();
        services.AddSingleton<ICryptDevices>(sp => new CryptSetup(sp.GetRequiredService<ICommandRunner>()));
        services.AddSingleton(sp => new MapperSelector(sp.GetRequiredService<ICommandRunner>(), sp.GetRequiredService<CephClientArgs>(),
            sp.GetRequiredService<IHostProbe>(), sp.GetRequiredService<IMountTable>(), settings.StateDir, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<FuseLoopMapper>>()));
        services.AddSingleton(sp =>
        {
            var selector = sp.GetRequiredService<MapperSelector>();
            return new MapperSet(selector.Select(raw.Mapper), MapperSelector.Mappers.Select(selector.Create));
        });
        return services;
    }

    /// <summary>The daemon's volumes on this host: the verbs, the journal, and what keeps them converged and released.</summary>
    public static IServiceCollection AddHostVolumes(this IServiceCollection services, VolumeSettings settings)
    {
        services.AddSingleton(new MountJournal(settings.StateDir));
        services.AddSingleton<HostFence>();
        services.AddSingleton<VolumeGuard>();
        services.AddSingleton<PendingReleases>();
        services.AddSingleton<WriterProbe>();
        services.AddSingleton<VolumeMounter>();
        services.AddSingleton<VolumeReleaser>();
        services.AddSingleton<FrozenSnapshot>();
        services.AddSingleton<VolumeDriver>();
        services.AddSingleton<IVolumeDriver>(sp => sp.GetRequiredService<VolumeDriver>());
        services.AddSingleton<KernelLeftovers>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<TrashPurger>();
        services.AddHostedService(sp => sp.GetRequiredService<TrashPurger>());
        services.AddHostedService<UnusedMountReaper>();
        return services;
    }

    /// <summary>What the runbook commands do, with this host's daemon at <paramref name="adminSocket"/> whose mapper
    /// can serve what <paramref name="mapper"/> says (a create stays within it).</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services, string adminSocket, MapperAbilities mapper)
    {
        services.AddSingleton(new LocalDaemon(adminSocket));
        services.AddSingleton(mapper);
        services.AddSingleton<VolumeOperations>();
        services.AddSingleton<SnapshotOperations>();
        services.AddSingleton<CloneOperations>();
        services.AddSingleton<ResizeOperations>();
        services.AddSingleton<LimitOperations>();
        services.AddSingleton<KeyOperations>();
        services.AddSingleton<TrashOperations>();
        services.AddSingleton<HostOperations>();
        services.AddSingleton<PlainBackupSnapshots>();
        services.AddSingleton<IBackupSnapshots>(sp => new FrozenBackupSnapshots(sp.GetRequiredService<SnapshotOperations>(), sp.GetRequiredService<PlainBackupSnapshots>()));
        services.AddSingleton<RbdDiff>();
        services.AddSingleton<BackupCreator>();
        services.AddSingleton<BackupRestorer>();
        services.AddSingleton<BackupOperations>();
        return services;
    }
}
