using System.Text.Json.Serialization;
using RbdPlugin.Hosting;
using RbdPlugin.Volumes;

namespace RbdPlugin.Admin;

/// <summary>A failed admin request: the operator's message and the <see cref="VolumeErrorKind"/> that decides the CLI's exit code.</summary>
internal sealed record AdminError(string Error, string Kind);

/// <summary>/healthz: the process is up and serving.</summary>
internal sealed record HealthResponse(string Status, string HostId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(string))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;

/// <summary>
/// The admin socket's endpoints (see <see cref="ListenerScope.Admin"/>): health for supervisors, and, under
/// <c>/admin/v1</c>, the operations only the daemon that has a volume mounted can do (grow its filesystem online,
/// freeze it around a snapshot), which the runbook CLI asks for through <see cref="AdminClient"/>. Feature files
/// add their routes to <see cref="Group"/>.
/// </summary>
internal static class AdminEndpoints
{
    public const string Prefix = "/admin/v1";

    /// <summary>Maps /healthz and returns the <c>/admin/v1</c> group, both served on the admin socket only.</summary>
    public static RouteGroupBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = app.ServiceProvider.GetRequiredService<VolumeSettings>();
        // Also on the metrics listener: a supervisor that can only reach TCP checks liveness there.
        app.MapGet("/healthz", () => TypedResults.Json(new HealthResponse("ok", settings.HostId), AdminJsonContext.Default.HealthResponse))
            .ServedOn(ListenerScope.Admin | ListenerScope.Metrics);
        return Group(app);
    }

    /// <summary>The <c>/admin/v1</c> route group, admin socket only.</summary>
    public static RouteGroupBuilder Group(IEndpointRouteBuilder app) => app.MapGroup(Prefix).ServedOn(ListenerScope.Admin);

    /// <summary>
    /// Runs an admin operation and turns a <see cref="VolumeException"/> into an <see cref="AdminError"/> with the
    /// status the kind implies, so the CLI can rebuild the same exception on its side.
    /// </summary>
    public static async Task<IResult> AnswerAsync(Func<Task<IResult>> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            return await operation();
        }
        catch (VolumeException e)
        {
            var status = e.Kind switch
            {
                VolumeErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
                VolumeErrorKind.NotFound => StatusCodes.Status404NotFound,
                VolumeErrorKind.Conflict or VolumeErrorKind.InUse => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status500InternalServerError,
            };
            return TypedResults.Json(new AdminError(e.Message, e.Kind.ToString()), AdminJsonContext.Default.AdminError, statusCode: status);
        }
    }
}
