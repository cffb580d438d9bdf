namespace RbdPlugin.Hosting;

/// <summary>What the listeners tell the operator at start and when a client is turned away.</summary>
internal static partial class ListenersLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Listening on unix socket {Socket} (mode 0600)")]
    public static partial void UnixSocket(ILogger logger, string socket);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning,
        Message = "Removed stale socket {Socket}: nothing was listening on it (left by a crash?)")]
    public static partial void StaleSocketRemoved(ILogger logger, string socket);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information,
        Message = "Listening on {Address} with HTTPS, client certificates required from {ClientCa}")]
    public static partial void MutualTls(ILogger logger, string address, string clientCa);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning,
        Message = "INSECURE: {Address} serves plain HTTP with no authentication; any local process can create, mount " +
                  "and remove volumes. InsecureLoopbackHttp=true is for development only; use TlsCert, TlsKey and " +
                  "TlsClientCa in production")]
    public static partial void InsecureHttp(ILogger logger, string address);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning,
        Message = "Rejected client certificate {Subject} issued by {Issuer} (thumbprint {Thumbprint}): {Reasons}")]
    public static partial void ClientCertificateRejected(ILogger logger, string subject, string issuer, string thumbprint, string reasons);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information,
        Message = "Serving /metrics, /healthz and /readyz on {Address} (plain HTTP, loopback only)")]
    public static partial void MetricsHttp(ILogger logger, string address);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information,
        Message = "Serving /metrics, /healthz and /readyz on {Address} with HTTPS, client certificates required from {ClientCa}")]
    public static partial void MetricsMutualTls(ILogger logger, string address, string clientCa);
}
