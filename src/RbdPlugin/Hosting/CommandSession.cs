using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Volumes;
using Serilog;
using Serilog.Events;

namespace RbdPlugin.Hosting;

/// <summary>
/// One runbook command's services: a Ceph connection from the same configuration as <c>serve</c>, and the same
/// graph (<see cref="ServiceGraph"/>) minus what only the daemon runs. Its lease identity is its own
/// (<see cref="LeaseIdentity.ForCommand"/>), never the daemon's. Warnings go to stderr in text mode; with
/// <c>--json</c> stderr carries only the error object a script parses, so nothing is logged.
/// </summary>
internal sealed class CommandSession : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly CephConnection _connection;
    private readonly ILoggerFactory _loggers;

    private CommandSession(ServiceProvider services, CephConnection connection, ILoggerFactory loggers) =>
        (_services, _connection, _loggers) = (services, connection, loggers);

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public static async Task<CommandSession> OpenAsync(ValidatedOptions options, bool logWarnings, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var loggers = LoggerFactory.Create(logging =>
        {
            if (logWarnings)
            {
                logging.AddSerilog(new LoggerConfiguration().MinimumLevel.Warning()
                    .WriteTo.Console(outputTemplate: "rbd-plugin: warning: {Message:lj}{NewLine}", standardErrorFromLevel: LogEventLevel.Verbose,
                        formatProvider: System.Globalization.CultureInfo.InvariantCulture)
                    .CreateLogger(), dispose: true);
            }
        });
        var raw = options.Raw;
        CephConnection connection;
        try
        {
            connection = await CephConnection.ConnectAsync(new CephConnectionOptions(raw.CephConf, raw.CephId, raw.Keyring, options.CephTimeout),
                loggers.CreateLogger<CephConnection>(), ct);
        }
        catch
        {
            loggers.Dispose();
            throw;
        }

        var services = new ServiceCollection();
        // Registered before AddLogging, which then keeps it: every ILogger<T> of the graph writes through it.
        services.AddSingleton(loggers);
        services.AddLogging();
        services.AddCeph(connection)
            .AddVolumes(options.Volumes, LeaseIdentity.ForCommand(options.Volumes.HostId))
            .AddNode(raw, options.Volumes)
            .AddOperations(options.AdminSocket, MapperOfDaemon(raw.Mapper));
        return new CommandSession(services.BuildServiceProvider(), connection, loggers);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _connection.DisposeAsync();
        _loggers.Dispose();
    }

    /// <summary>
    /// What a runbook create must stay within so this host's daemon can serve the volume: krbd's when it may be
    /// chosen and its module is loaded (the kernel's features, no I/O limits), otherwise any (nbd and fuse open every
    /// feature and apply the limits).
    /// </summary>
    private static MapperAbilities MapperOfDaemon(string mapper) =>
        mapper is "krbd" or "auto" && File.Exists(KrbdMapper.SupportedFeaturesPath)
            ? new MapperAbilities("krbd", KrbdMapper.ParseSupportedFeatures(File.ReadAllText(KrbdMapper.SupportedFeaturesPath)), IoLimits: false)
            : mapper == "fuse" ? MapperAbilities.Any with { Mapper = "fuse", Encryption = false } : MapperAbilities.Any;
}
