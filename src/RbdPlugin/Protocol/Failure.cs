using RbdPlugin.Volumes;

namespace RbdPlugin.Protocol;

/// <summary>
/// A request that ends in <c>{"Err":"..."}</c>: the HTTP status, the Err text Docker shows after
/// "VolumeDriver.Verb: ", a short kind for the log line, and the exception worth logging with its stack, if any.
/// Docker reads Err from any non-200 answer and never retries on it, so the status is for humans and curl.
/// </summary>
internal sealed record Failure(int StatusCode, string Err, string Kind, Exception? Unexpected = null)
{
    public const string BadRequestKind = "BadRequest";

    /// <summary>The request itself is unusable (empty, malformed, too large, missing a field): 400 or 413.</summary>
    public static Failure BadRequest(string err, int statusCode = StatusCodes.Status400BadRequest) =>
        new(statusCode, err, BadRequestKind);

    /// <summary>Maps what the driver threw. Expected failures keep their message; anything else names the request id.</summary>
    public static Failure FromException(Exception exception, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(context);
        return exception switch
        {
            VolumeException volume => new(StatusCodes.Status500InternalServerError, SecretRedactor.Message(volume.Message), volume.Kind.ToString()),

            // Docker closed the connection (its own 1-2 minute timeout, or it went away): the answer reaches nobody,
            // but the log line says what happened.
            OperationCanceledException when context.RequestAborted.IsCancellationRequested =>
                new(StatusCodes.Status500InternalServerError,
                    "cancelled: Docker closed the connection before the operation finished", "Cancelled"),

            OperationCanceledException or TimeoutException =>
                new(StatusCodes.Status500InternalServerError,
                    "timed out: the Ceph cluster or a host command did not answer in time; try again, and run " +
                    "'rbd-plugin doctor' if it keeps happening", "Timeout"),

            _ => new(StatusCodes.Status500InternalServerError,
                $"internal error (request {context.TraceIdentifier}): {exception.GetType().Name}: {SecretRedactor.Message(exception.Message)}",
                "Internal", exception),
        };
    }
}
