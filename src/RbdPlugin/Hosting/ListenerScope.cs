using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RbdPlugin.Hosting;

/// <summary>Which listener a request came in on, and so which endpoints it may reach.</summary>
[Flags]
internal enum ListenerScope
{
    /// <summary>Docker's socket or TCP listener: the nine plugin verbs only.</summary>
    Plugin = 1,

    /// <summary>The root-only admin socket: health, metrics and the operations the runbook CLI asks the daemon for.</summary>
    Admin = 2,

    /// <summary>The optional MetricsListen TCP listener: /metrics, /healthz and /readyz only.</summary>
    Metrics = 4,
}

/// <summary>Endpoint metadata: the listeners an endpoint is served on. Endpoints without it are Plugin-only.</summary>
internal sealed record ServedOn(ListenerScope Scopes);

/// <summary>
/// Keeps each endpoint on its listener. All listeners share one Kestrel server and one route table (one process,
/// one set of services), so the separation is enforced here: a request for an endpoint its listener does not serve
/// is answered 404 as if the endpoint did not exist — Docker's socket never exposes admin operations.
/// </summary>
internal static class ListenerScopes
{
    /// <summary>Marks the endpoint as served on <paramref name="scopes"/> only.</summary>
    public static TBuilder ServedOn<TBuilder>(this TBuilder builder, ListenerScope scopes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ServedOn(scopes));

    /// <summary>Tags every connection accepted on <paramref name="listen"/> as the admin socket's.</summary>
    public static void MarkAdmin(ListenOptions listen) => Mark(listen, ScopedConnection.Admin);

    /// <summary>Tags every connection accepted on <paramref name="listen"/> as the metrics listener's.</summary>
    public static void MarkMetrics(ListenOptions listen) => Mark(listen, ScopedConnection.Metrics);

    /// <summary>The listener the request's connection arrived on; untagged connections are Docker's.</summary>
    public static ListenerScope Of(HttpContext context) =>
        context?.Features.Get<ScopedConnection>()?.Scope ?? ListenerScope.Plugin;

    // A connection feature, set by Kestrel's connection middleware, is what reaches the request: Kestrel does not
    // expose a unix socket's local path to HTTP code. It must be added before UseHttps, which wraps the connection.
    private static void Mark(ListenOptions listen, ScopedConnection tag) =>
        listen?.Use(next => connection =>
        {
            connection.Features.Set(tag);
            return next(connection);
        });

    /// <summary>Adds the check; it runs after routing (WebApplication routes first), so the endpoint is known.</summary>
    public static IApplicationBuilder UseListenerScopes(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var allowed = context.GetEndpoint()?.Metadata.GetMetadata<ServedOn>()?.Scopes ?? ListenerScope.Plugin;
            if ((allowed & Of(context)) == 0)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"Err\":\"unknown endpoint on this listener\"}");
                return;
            }

            await next(context);
        });

    private sealed record ScopedConnection(ListenerScope Scope)
    {
        public static readonly ScopedConnection Admin = new(ListenerScope.Admin);
        public static readonly ScopedConnection Metrics = new(ListenerScope.Metrics);
    }
}
