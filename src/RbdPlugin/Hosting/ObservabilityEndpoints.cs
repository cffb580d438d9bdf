using RbdPlugin.Observability;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;

namespace RbdPlugin.Hosting;

/// <summary>
/// /metrics and /readyz, served on the admin socket and on the MetricsListen TCP listener (never on Docker's).
/// Wiring: <see cref="AddObservability"/> with the other services, <see cref="MapObservability"/> with the other
/// endpoints, <see cref="ReportReconciled"/> once the start-up reconciliation is done. The metrics themselves and
/// readiness live in Observability/, which knows nothing of listeners.
/// </summary>
internal static class ObservabilityEndpoints
{
    /// <summary>What Prometheus's text format 0.0.4 is served as.</summary>
    public const string MetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static IServiceCollection AddObservability(this IServiceCollection services)
    {
        services.AddSingleton<CephProbe>();
        services.AddSingleton<Readiness>();
        services.AddSingleton<PluginMetrics>();
        services.AddSingleton<IRequestMetrics>(sp => sp.GetRequiredService<PluginMetrics>());
        return services;
    }

    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        const ListenerScope scopes = ListenerScope.Admin | ListenerScope.Metrics;
        var metrics = app.ServiceProvider.GetRequiredService<PluginMetrics>();
        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = MetricsContentType;
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        }).ServedOn(scopes);

        var readiness = app.ServiceProvider.GetRequiredService<Readiness>();
        // A plain RequestDelegate, like /metrics: a Task<IResult> lambda goes through reflection-built binding,
        // which a trimmed build turned into an empty 200.
        app.MapGet("/readyz", async context =>
        {
            var ready = await readiness.CheckAsync(context.RequestAborted);
            context.Response.StatusCode = ready.NotReady.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsJsonAsync(ready, ObservabilityJsonContext.Default.ReadyResponse, cancellationToken: context.RequestAborted);
        }).ServedOn(scopes);
        return app;
    }

    /// <summary>The start-up reconciliation is done: counted in the metrics, and /readyz may say ready.</summary>
    public static void ReportReconciled(this IServiceProvider services, ReconcileReport report)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetRequiredService<PluginMetrics>().RecordReconcile(report);
        services.GetRequiredService<Readiness>().MarkReconciled();
    }
}
