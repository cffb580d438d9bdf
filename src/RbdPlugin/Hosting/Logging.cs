using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace RbdPlugin.Hosting;

/// <summary>Serilog to stderr, as text for people or compact JSON (one object per line) for log shippers.</summary>
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
            : config.WriteTo.Console(
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {Level:u3} {SourceContext:l}: {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        return config.CreateLogger();
    }
}
