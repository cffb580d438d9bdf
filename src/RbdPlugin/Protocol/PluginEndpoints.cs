using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using RbdPlugin.Volumes;

namespace RbdPlugin.Protocol;

/// <summary>
/// The nine routes of the Docker volume plugin protocol. Each is the same pipeline: read the body by hand, decode,
/// check the required fields, call <see cref="IVolumeDriver"/>, encode. Only the line that calls the driver
/// differs per verb; failures always end as <c>{"Err":"..."}</c> with a non-200 status, which is all Docker reads.
/// </summary>
internal static class PluginEndpoints
{
    private static ProtocolJsonContext Json => ProtocolJsonContext.Default;

    /// <summary>
    /// Maps the nine POST routes, plus a JSON 405 for other methods on them and a JSON 404 for any other path.
    /// Needs an <see cref="IVolumeDriver"/> in DI. The driver's CancellationToken is the connection's: it fires when
    /// Docker gives up (its 1-2 minute timeout closes the connection), and Docker never sends Unmount after a
    /// failed Mount, so a driver should undo rather than finish work nobody will hear about.
    /// </summary>
    public static IEndpointRouteBuilder MapVolumePlugin(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PluginEndpoints).FullName!);

        // Activate reads no body: dockerd sends none, and a hand-made probe with one should still work.
        MapVerb(app, logger, Routes.Activate, Json.ActivateRequest, Json.ActivateResponse, whenEmpty: new ActivateRequest(),
            static (_, _, _) => Task.FromResult(ActivateResponse.VolumeDriver), readBody: false);

        MapVerb(app, logger, Routes.Capabilities, Json.CapabilitiesRequest, Json.CapabilitiesResponse, whenEmpty: new CapabilitiesRequest(),
            static (_, _, _) => Task.FromResult(CapabilitiesResponse.Global));

        MapVerb(app, logger, Routes.Create, Json.CreateRequest, Json.CreateResponse, whenEmpty: null,
            static async (driver, request, ct) =>
            {
                await driver.CreateAsync(request.Name!, request.Opts, ct);
                return new CreateResponse();
            });

        MapVerb(app, logger, Routes.Remove, Json.RemoveRequest, Json.RemoveResponse, whenEmpty: null,
            static async (driver, request, ct) =>
            {
                await driver.RemoveAsync(request.Name!, ct);
                return new RemoveResponse();
            });

        MapVerb(app, logger, Routes.Mount, Json.MountRequest, Json.MountResponse, whenEmpty: null,
            static async (driver, request, ct) => new MountResponse(await driver.MountAsync(request.Name!, request.Id!, ct)));

        MapVerb(app, logger, Routes.Unmount, Json.UnmountRequest, Json.UnmountResponse, whenEmpty: null,
            static async (driver, request, ct) =>
            {
                await driver.UnmountAsync(request.Name!, request.Id!, ct);
                return new UnmountResponse();
            });

        // Not mounted on this host is "", which Docker reads as "no path yet"; an unknown volume is the driver's Err.
        MapVerb(app, logger, Routes.Path, Json.PathRequest, Json.PathResponse, whenEmpty: null,
            static async (driver, request, ct) => new PathResponse(await driver.PathAsync(request.Name!, ct) ?? ""));

        MapVerb(app, logger, Routes.Get, Json.GetRequest, Json.GetResponse, whenEmpty: null, GetAsync);

        MapVerb(app, logger, Routes.List, Json.ListRequest, Json.ListResponse, whenEmpty: new ListRequest(),
            static async (driver, _, ct) =>
            {
                var volumes = await driver.ListAsync(ct);
                return new ListResponse([.. volumes.Select(v => new WireVolume(v.Name, v.Mountpoint))]);
            });

        // The fallback's explicit pattern matters: the default one skips paths that look like file names, and every
        // path here has a dot in it.
        app.MapFallback("{**path}", context => UnknownEndpointAsync(context, logger));

        return app;
    }

    /// <summary>
    /// Get. "No such volume" is answered as 200 <c>{"Volume":null,"Err":""}</c>, not as an Err. moby's adapter turns a
    /// null Volume into its own "no such volume" (a not-found error), which is exactly what `docker volume inspect`
    /// should say and what Swarm's Get-then-Create needs; an Err would instead be an opaque failure, and would
    /// look the same as "the cluster did not answer". The name is echoed from the request because Docker keys the
    /// volume by the name in the answer.
    /// </summary>
    private static async Task<GetResponse> GetAsync(IVolumeDriver driver, GetRequest request, CancellationToken ct)
    {
        VolumeInfo? info;
        try
        {
            info = await driver.GetAsync(request.Name!, ct);
        }
        catch (VolumeException e) when (e.Kind == VolumeErrorKind.NotFound)
        {
            // The seam says null, but a NotFound thrown from deeper down means the same thing.
            info = null;
        }

        return info is null
            ? new GetResponse(null)
            : new GetResponse(new WireVolume(request.Name!, info.Mountpoint, info.CreatedAt, StatusValues.ToWire(info.Status)));
    }

    private static async Task UnknownEndpointAsync(HttpContext context, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        using var scope = ProtocolLog.BeginRequest(logger, context.TraceIdentifier);
        var path = context.Request.Path.Value ?? "/";
        await AnswerAsync(context, logger, $"{context.Request.Method} {path}", null, null, started, null,
            new Failure(StatusCodes.Status404NotFound,
                $"unknown endpoint {path}: this plugin serves POST {string.Join(", ", Routes.All)}", "UnknownEndpoint"));
    }

    /// <summary>The one pipeline every verb runs through.</summary>
    private static void MapVerb<TRequest, TResponse>(
        IEndpointRouteBuilder app,
        ILogger logger,
        string route,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        TRequest? whenEmpty,
        Func<IVolumeDriver, TRequest, CancellationToken, Task<TResponse>> invoke,
        bool readBody = true)
        where TRequest : class, IPluginRequest
    {
        var method = Routes.MethodName(route);

        // Map, not MapPost: a GET must get a JSON 405 too, not routing's empty one.
        app.Map(route, async context =>
        {
            var started = Stopwatch.GetTimestamp();
            using var scope = ProtocolLog.BeginRequest(logger, context.TraceIdentifier);
            TRequest? request = null;
            byte[]? payload = null;
            Failure? failure;
            try
            {
                (request, failure) = await DecodeAsync(context, method, requestType, whenEmpty, readBody);
                if (failure is null && request is not null)
                {
                    var driver = context.RequestServices.GetRequiredService<IVolumeDriver>();
                    var response = await invoke(driver, request, context.RequestAborted);

                    // Encoded before anything is sent, so a value that cannot be serialized still ends as a JSON Err.
                    payload = JsonSerializer.SerializeToUtf8Bytes(response, responseType);
                }
            }
#pragma warning disable CA1031 // The boundary to Docker: every failure must become a JSON Err, never a bare 500.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = Failure.FromException(e, context);
            }

            IPluginRequest? seen = request;
            await AnswerAsync(context, logger, method, seen?.VolumeName, seen?.MountId, started, payload, failure);
        });
    }

    /// <summary>The method, the body and the fields the verb needs: a request to hand to the driver, or why not.</summary>
    private static async Task<(TRequest? Request, Failure? Failure)> DecodeAsync<TRequest>(
        HttpContext context, string method, JsonTypeInfo<TRequest> requestType, TRequest? whenEmpty, bool readBody)
        where TRequest : class, IPluginRequest
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = HttpMethods.Post;
            return (null, new Failure(StatusCodes.Status405MethodNotAllowed,
                $"method {context.Request.Method} not allowed: {method} takes POST", "MethodNotAllowed"));
        }

        var (request, failure) = readBody
            ? await RequestBody.DecodeAsync(context.Request, requestType, whenEmpty, method, context.RequestAborted)
            : (whenEmpty, null);
        if (failure is not null || request is null)
        {
            return (request, failure ?? Failure.BadRequest($"empty request: {method} needs a JSON object"));
        }

        return request.Problem() is { } problem ? (request, Failure.BadRequest(problem)) : (request, null);
    }

    /// <summary>Writes the request's one log line and its metrics, then the answer (the payload, or the failure's Err envelope).</summary>
    private static async Task AnswerAsync(HttpContext context, ILogger logger, string verb, string? volume, string? mountId,
        long started, byte[]? payload, Failure? failure)
    {
        var status = StatusCodes.Status200OK;
        if (failure is not null || payload is null)
        {
            failure ??= new Failure(StatusCodes.Status500InternalServerError, "internal error: no response", "Internal");
            status = failure.StatusCode;
            payload = JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(failure.Err), Json.ErrorResponse);
        }

        // Logged and counted before the answer goes out: once Docker (or a test) has the answer, both exist.
        var elapsed = Stopwatch.GetElapsedTime(started);
        var elapsedMs = Math.Round(elapsed.TotalMilliseconds, 1);
        context.RequestServices.GetService<IRequestMetrics>()?.Observe(verb, elapsed, failure?.Kind);
        var shortId = ProtocolLog.MountIdPrefix(mountId);
        if (failure is null)
        {
            ProtocolLog.Succeeded(logger, verb, volume, shortId, "ok", elapsedMs);
        }
        else
        {
            var level = failure.Unexpected is not null ? LogLevel.Error : LogLevel.Warning;
            ProtocolLog.Failed(logger, level, failure.Unexpected, verb, volume, shortId, "err", failure.Kind, elapsedMs, failure.Err);
        }

        try
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = payload.Length;
            await context.Response.Body.WriteAsync(payload, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Docker hung up; the log line above already records what the request did.
        }
    }
}
