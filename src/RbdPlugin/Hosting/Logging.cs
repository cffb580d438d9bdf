using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace RbdPlugin.Hosting;

/// <summary>
/// Serilog to stderr, as text for people or compact JSON (one object per line) for log shippers. Every line a
/// Docker request causes (the driver's steps, each Ceph call, each command run) carries its RequestId: the scope
/// ProtocolLog opens reaches Serilog through the host's logger provider and Enrich.FromLogContext. JSON shows it
/// as the RequestId property; text as " [ID]" after the source.
/// </summary>
internal static class Logging
{
    public static Serilog.ILogger Create(string level, string format)
    {
        var minimum = level.ToLowerInvariant() switch
        {
            "verbose" => LogEventLevel.Verbose,
            "debug" => LogEventLevel.Debug,
            "warning" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            _ => LogEventLevel.Information,
        };
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            // ASP.NET's own per-request chatter would double our one line per request.
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext();
        config = format == "json"
            ? config.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose)
            // A sub-logger sees the event with every property attached, the request scope's included.
            : config.WriteTo.Logger(text => text
                .Enrich.With<RequestTag>()
                .WriteTo.Console(
                    outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {Level:u3} {SourceContext:l}{RequestTag:l}: {Message:lj}{NewLine}{Exception}",
                    standardErrorFromLevel: LogEventLevel.Verbose,
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture));
        return config.CreateLogger();
    }

    /// <summary>" [RequestId]" for text lines of a request; nothing at all for the others.</summary>
    private sealed class RequestTag : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            if (logEvent.Properties.TryGetValue("RequestId", out var id) && id is ScalarValue { Value: string value })
            {
                logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("RequestTag", $" [{value}]"));
            }
        }
    }
}
