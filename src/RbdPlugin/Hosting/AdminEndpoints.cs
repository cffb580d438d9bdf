using System.Text.Json.Serialization.Metadata;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Hosting;

/// <summary>
/// The admin socket's endpoints (<see cref="AdminRoutes"/>; see <see cref="ListenerScope.Admin"/>): health for
/// supervisors, and the operations only the daemon that has a volume mounted can do, which the runbook CLI asks for
/// through <see cref="AdminClient"/>.
/// </summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = app.ServiceProvider.GetRequiredService<VolumeSettings>();
        // Also on the metrics listener: a supervisor that can only reach TCP checks liveness there.
        app.MapGet(AdminRoutes.Health, () => TypedResults.Json(new HealthResponse("ok", settings.HostId), AdminJsonContext.Default.HealthResponse))
            .ServedOn(ListenerScope.Admin | ListenerScope.Metrics);

        var group = app.MapGroup(AdminRoutes.Prefix).ServedOn(ListenerScope.Admin);
        group.MapPost(AdminRoutes.SnapshotsPath, (string name, HttpRequest request, VolumeDriver driver, CancellationToken ct) =>
            AnswerAsync(async () =>
            {
                var body = await ReadAsync(request, AdminJsonContext.Default.SnapshotRequest, ct);
                var taken = await driver.SnapshotAsync(name, body.Snapshot, ct);
                return TypedResults.Json(taken, AdminJsonContext.Default.SnapshotTaken);
            }));
        group.MapPost(AdminRoutes.GrowPath, (string name, VolumeDriver driver, CancellationToken ct) =>
            AnswerAsync(async () => TypedResults.Json(await driver.GrowAsync(name, ct), AdminJsonContext.Default.FilesystemGrowth)));
        return app;
    }

    /// <summary>
    /// Runs an admin operation and turns a <see cref="VolumeException"/> into an <see cref="AdminError"/> with the
    /// status the kind implies, so the CLI can rebuild the same exception on its side.
    /// </summary>
    internal static async Task<IResult> AnswerAsync(Func<Task<IResult>> operation)
    {
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

    private static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken ct)
    {
        try
        {
            return await request.ReadFromJsonAsync(type, ct)
                ?? throw new VolumeException(VolumeErrorKind.InvalidArgument, "empty request body");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, $"malformed request body: {e.Message}", e);
        }
    }
}
