using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;
using Serilog;

namespace RbdPlugin.Hosting;

/// <summary>
/// Composes the daemon: connect to Ceph once, build the graph (<see cref="ServiceGraph"/>), reconcile the journal
/// with this host, and only then open the listeners — Docker must never see a half-recovered plugin.
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
        var ceph = await CephConnection.ConnectAsync(
            new CephConnectionOptions(raw.CephConf, raw.CephId, raw.Keyring, options.CephTimeout),
            loggerFactory.CreateLogger<CephConnection>(), ct);

        var settings = options.Volumes;
        if (!OperatingSystem.IsWindows())
        {
            MountRoot.PrepareStateDir(settings.StateDir);
        }

        builder.Services
            .AddCeph(ceph)
            .AddVolumes(settings, LeaseIdentity.ForDaemon(settings.HostId, settings.StateDir))
            .AddNode(raw, settings)
            .AddHostVolumes(settings)
            .AddObservability();

        var app = builder.Build();
        if (!OperatingSystem.IsWindows())
        {
            // Root only before anything is mounted under it (Node/MountRoot.cs).
            MountRoot.Prepare(settings.MountRoot, app.Services.GetRequiredService<IMountTable>(), loggerFactory.CreateLogger(typeof(MountRoot).FullName!));
        }

        app.UseListenerScopes();
        app.MapAdmin();
        app.MapObservability();
        app.MapVolumePlugin();
        var mapper = app.Services.GetRequiredService<MapperSet>().Active.Name;
        Log.Information("rbd-plugin on host {HostId}: pool {Pool}, mapper {Mapper}, mount root {MountRoot}",
            settings.HostId, settings.Pool, mapper, settings.MountRoot);
        if (MapperSelector.FallbackAdvice(raw.Mapper, mapper, app.Services.GetRequiredService<IHostProbe>()) is { } advice)
        {
            Log.Warning("{Advice}", advice);
        }
        var report = await app.Services.GetRequiredService<Reconciler>().RunAsync(ct);
        app.Services.ReportReconciled(report);
        return app;
    }
}
