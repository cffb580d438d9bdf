using RbdPlugin.Admin;
using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Observability;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;
using Serilog;

namespace RbdPlugin.Hosting;

/// <summary>
/// Composes the daemon: connect to Ceph once, pick the mapper, reconcile the journal with this host, and only then
/// open the listeners — Docker must never see a half-recovered plugin.
/// </summary>
internal static class PluginHost
{
    public static async Task<WebApplication> BuildAsync(ValidatedOptions options, Serilog.ILogger log, CancellationToken ct)
    {
        var raw = options.Raw;
        // Content root = the install directory and no config reload: otherwise the host puts an inotify watch on every
        // directory under the working directory (all of / under systemd, mounted volumes included).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Host.UseSerilog(log, dispose: false);
        builder.WebHost.UsePluginListeners(raw, options.AdminSocket);

        var loggerFactory = new Serilog.Extensions.Logging.SerilogLoggerFactory(log);
        var ceph = await CephCluster.ConnectAsync(
            new CephConnectionOptions(raw.CephConf, raw.CephId, raw.Keyring, options.CephTimeout),
            loggerFactory.CreateLogger<CephCluster>(), ct);

        var settings = options.Volumes;
        Directory.CreateDirectory(settings.StateDir);
        Directory.CreateDirectory(settings.MountRoot);
        var runner = new CommandRunner(loggerFactory.CreateLogger<CommandRunner>());
        var client = new CephClientArgs(raw.CephConf, raw.CephId, raw.Keyring);
        var mountTable = new MountInfoTable();
        var mapper = new MapperSelector(runner, client, new HostProbe(), mountTable, settings.StateDir).Select(raw.Mapper);

        var services = builder.Services;
        services.AddSingleton<ICephCluster>(ceph);
        services.AddSingleton(settings);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IMountTable>(mountTable);
        services.AddSingleton<IFilesystem>(new Filesystem(runner, mountTable));
        services.AddSingleton(new MapperSet(mapper, [mapper]));
        services.AddSingleton(new MountJournal(settings.StateDir));
        services.AddSingleton<VolumeCatalog>();
        services.AddSingleton<LeaseKeeper>();
        services.AddSingleton<VolumeDriver>();
        services.AddSingleton<IVolumeDriver>(sp => sp.GetRequiredService<VolumeDriver>());
        services.AddSingleton<Reconciler>();
        services.AddSingleton<TrashPurger>();
        services.AddHostedService(sp => sp.GetRequiredService<TrashPurger>());
        services.AddObservability();
        services.AddSingleton<IMountNamespaces>(new MountNamespaces());
        services.AddHostedService<UnusedMountReaper>();

        var app = builder.Build();
        app.UseListenerScopes();
        app.MapAdmin().MapVolumeAdmin();
        app.MapObservability();
        app.MapVolumePlugin();
        Log.Information("rbd-plugin on host {HostId}: pool {Pool}, mapper {Mapper}, mount root {MountRoot}",
            settings.HostId, settings.Pool, mapper.Name, settings.MountRoot);
        var report = await app.Services.GetRequiredService<Reconciler>().RunAsync(ct);
        app.Services.ReportReconciled(report);
        return app;
    }
}
