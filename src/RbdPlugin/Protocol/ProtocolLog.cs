
namespace RbdPlugin.Protocol;

/// <summary>
/// One line per request: verb, volume, mount ID prefix, duration, outcome and, on failure, the error kind and Err.
/// Every line of the request (driver lines included) carries the request id through a scope; it is the id an
/// "internal error (request ...)" message tells the user to look for.
/// </summary>
internal static partial class ProtocolLog
{
    /// <summary>Docker's mount IDs are 64 hex characters; the first 12 tell them apart in a log, as docker ps does.</summary>
    public const int MountIdPrefixLength = 12;

    private static readonly Func<ILogger, string, IDisposable?> RequestScope =
        LoggerMessage.DefineScope<string>("RequestId:{RequestId}");

    public static IDisposable? BeginRequest(ILogger logger, string requestId) => RequestScope(logger, requestId);

    public static string? MountIdPrefix(string? mountId) =>
        mountId is { Length: > MountIdPrefixLength } ? mountId[..MountIdPrefixLength] : mountId;

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "{Verb} volume={Volume} id={MountId} {Outcome} in {ElapsedMs} ms")]
    public static partial void Succeeded(ILogger logger, string verb, string? volume, string? mountId, string outcome, double elapsedMs);

    [LoggerMessage(EventId = 2,
        Message = "{Verb} volume={Volume} id={MountId} {Outcome} {ErrorKind} in {ElapsedMs} ms: {Err}")]
    public static partial void Failed(ILogger logger, LogLevel level, Exception? exception, string verb, string? volume,
        string? mountId, string outcome, string errorKind, double elapsedMs, string err);
}
