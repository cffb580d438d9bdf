using System.Text.RegularExpressions;
using RbdPlugin.Volumes;

namespace RbdPlugin.Protocol;

/// <summary>
/// A request that ends in <c>{"Err":"..."}</c>: the HTTP status, the Err text Docker shows after
/// "VolumeDriver.Verb: ", a short kind for the log line, and the exception worth logging with its stack, if any.
/// Docker reads Err from any non-200 answer and never retries on it, so the status is for humans and curl.
/// </summary>
internal sealed partial record Failure(int StatusCode, string Err, string Kind, Exception? Unexpected = null)
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
            VolumeException volume => new(StatusCodes.Status500InternalServerError, Redact(volume.Message), volume.Kind.ToString()),

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
                $"internal error (request {context.TraceIdentifier}): {exception.GetType().Name}: {Redact(exception.Message)}",
                "Internal", exception),
        };
    }

    /// <summary>
    /// Keeps an Err to one line of bounded length and masks anything that looks like a credential. Our own
    /// messages carry no secrets (design invariant 6); this guards the messages of libraries we do not control.
    /// </summary>
    public static string Redact(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = SecretAssignment().Replace(message, "$1***");
        text = CephKey().Replace(text, "***");
        text = text.ReplaceLineEndings(" ");
        return text.Length <= MaxErrLength ? text : string.Concat(text.AsSpan(0, MaxErrLength), "...");
    }

    private const int MaxErrLength = 1000;

    // "key=...", "secret: ...", "--key ..." and the like; the name stays, the value goes.
    [GeneratedRegex(@"(?i)(--(?:key|secret|password|token)\s+|\b(?:key|secret|password|passwd|token)\s*[=:]\s*)[^\s,;'""]+")]
    private static partial Regex SecretAssignment();

    // A cephx key: 40 characters of base64 (28 bytes) starting with "AQ".
    [GeneratedRegex(@"AQ[A-Za-z0-9+/]{36}==")]
    private static partial Regex CephKey();
}
