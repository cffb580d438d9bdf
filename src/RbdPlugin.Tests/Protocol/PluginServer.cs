using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RbdPlugin.Hosting;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Protocol;

/// <summary>
/// The plugin as Program wires it (Listeners + MapVolumePlugin) on a real Kestrel, with a fake driver and logs
/// captured in memory.
/// </summary>
internal sealed class PluginServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private PluginServer(WebApplication app, CapturingLoggerProvider logs)
    {
        this.app = app;
        Logs = logs;
    }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>What Kestrel bound, e.g. "http://unix:/tmp/x/rbd.sock" or "https://127.0.0.1:40123".</summary>
    public IReadOnlyCollection<string> Addresses =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();

    public static async Task<PluginServer> StartAsync(PluginOptions options, IVolumeDriver driver)
    {
        var logs = new CapturingLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "rbd-plugin-tests",
            EnvironmentName = "Test",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.WebHost.UsePluginListeners(options);
        builder.Services.AddSingleton(driver);

        var app = builder.Build();
        app.MapVolumePlugin();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new PluginServer(app, logs);
    }

    /// <summary>An HttpClient that reaches the unix socket the way dockerd does (Host plugin.moby.localhost).</summary>
    public static HttpClient UnixClient(string socketPath) => RbdPlugin.Operations.UnixSocketHttpClient.Create(socketPath, TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
