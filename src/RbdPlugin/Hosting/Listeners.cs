using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace RbdPlugin.Hosting;

/// <summary>
/// Kestrel's listeners from <see cref="PluginOptions"/>: the unix socket Docker finds by name, and an optional TCP
/// listener that is HTTPS with required client certificates (Docker's .json plugin spec with TLSConfig), or plain
/// HTTP on loopback when explicitly allowed; the admin socket; and the optional metrics listener (MetricsListen),
/// whose client certificates come from a CA of its own (MetricsTlsClientCa). TLS 1.2 or newer only.
/// A bad setting stops the start with a message naming it and the fix.
/// </summary>
internal static class Listeners
{
    /// <summary>
    /// Validates the listener settings now, then has Kestrel listen as configured. The one call Program needs:
    /// <c>builder.WebHost.UsePluginListeners(options)</c>.
    /// </summary>
    /// <exception cref="OptionsValidationException">A listener setting is wrong; the message says which and why.</exception>
    public static IWebHostBuilder UsePluginListeners(this IWebHostBuilder web, PluginOptions options, string? adminSocket = null)
    {
        ArgumentNullException.ThrowIfNull(web);
        Validate(options);
        web.UseSockets(ConfigureSockets);
        web.ConfigureKestrel(kestrel =>
        {
            var loggers = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>();
            Configure(kestrel, options, loggers.CreateLogger(typeof(Listeners).FullName!), adminSocket);
        });
        return web;
    }

    /// <summary>Makes every unix socket Kestrel binds root-only (0600) before it starts accepting.</summary>
    public static void ConfigureSockets(SocketTransportOptions sockets)
    {
        ArgumentNullException.ThrowIfNull(sockets);
        sockets.CreateBoundListenSocket = ListenersUnixSocket.CreateBoundListenSocket;
    }

    /// <summary>
    /// Adds the listeners to Kestrel: prepares the socket path (directory, stale file) and loads the TLS files.
    /// Pair with <see cref="ConfigureSockets"/>, which sets the socket's mode.
    /// </summary>
    /// <exception cref="OptionsValidationException">A listener setting is wrong or a TLS file cannot be loaded.</exception>
    public static void Configure(KestrelServerOptions kestrel, PluginOptions options, ILogger logger, string? adminSocket = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(logger);
        Validate(options);
        kestrel.AddServerHeader = false;

        if (!string.IsNullOrEmpty(options.Socket))
        {
            ListenUnixSocket(kestrel, options.Socket, logger);
        }

        // Its own socket, not a route on Docker's: whoever reaches Docker's socket must not reach admin operations.
        if (!string.IsNullOrEmpty(adminSocket))
        {
            ListenUnixSocket(kestrel, adminSocket, logger, ListenerScopes.MarkAdmin);
        }

        // Each TCP listener trusts its own CA and refuses chains through the other's (TlsClientCertificateValidator).
        // The files are loaded now, so a bad one, or two CA files sharing a certificate, stops the start.
        var dockerTls = HasTls(options);
        var metricsTls = MetricsHasTls(options);
        var server = dockerTls || metricsTls ? TlsCertificates.LoadServer(options.TlsCert, options.TlsKey) : default;
        var dockerCa = dockerTls ? TlsCertificates.LoadAuthorities(options.TlsClientCa) : [];
        var metricsCa = metricsTls ? TlsCertificates.LoadAuthorities(options.MetricsTlsClientCa, nameof(options.MetricsTlsClientCa)) : [];
        TlsCertificates.RequireDisjoint(dockerCa, metricsCa, options);

        if (!string.IsNullOrEmpty(options.TcpListen))
        {
            var address = TcpListenAddress.TryParse(options.TcpListen, out _)!;
            if (dockerTls)
            {
                var validator = new TlsClientCertificateValidator(dockerCa, metricsCa, "Docker's TCP listener (TlsClientCa)", logger);
                address.Listen(kestrel, listen => listen.UseHttps(https => ConfigureHttps(https, server.Certificate, server.Chain, validator)));
                ListenersLog.MutualTls(logger, options.TcpListen, options.TlsClientCa);
            }
            else
            {
                address.Listen(kestrel, _ => { });
                ListenersLog.InsecureHttp(logger, options.TcpListen);
            }
        }

        // Prometheus cannot scrape a unix socket. Metrics are read-only but tell who runs what where: plain HTTP
        // only where nobody else can connect from (loopback), mutual TLS with MetricsTlsClientCa anywhere else
        // (checked by Validate) and on loopback too when that is set.
        if (!string.IsNullOrEmpty(options.MetricsListen))
        {
            var address = TcpListenAddress.TryParse(options.MetricsListen, out _, nameof(options.MetricsListen))!;
            if (!metricsTls)
            {
                address.Listen(kestrel, ListenerScopes.MarkMetrics);
                ListenersLog.MetricsHttp(logger, options.MetricsListen);
            }
            else
            {
                var validator = new TlsClientCertificateValidator(metricsCa, dockerCa, "the metrics listener (MetricsTlsClientCa)", logger);
                address.Listen(kestrel, listen =>
                {
                    ListenerScopes.MarkMetrics(listen);
                    listen.UseHttps(https => ConfigureHttps(https, server.Certificate, server.Chain, validator));
                });
                ListenersLog.MetricsMutualTls(logger, options.MetricsListen, options.MetricsTlsClientCa);
            }
        }
    }

    /// <summary>
    /// HTTPS with a required client certificate that <paramref name="validator"/> accepts, TLS 1.2 or 1.3 only
    /// (whatever the host's OpenSSL would still allow: TLS 1.0 and 1.1 have no place on a listener that mounts volumes).
    /// </summary>
    internal static void ConfigureHttps(HttpsConnectionAdapterOptions https, X509Certificate2 certificate, X509Certificate2Collection chain,
        TlsClientCertificateValidator validator)
    {
        ArgumentNullException.ThrowIfNull(https);
        ArgumentNullException.ThrowIfNull(validator);
        https.ServerCertificate = certificate;
        https.ServerCertificateChain = chain;
        https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.ClientCertificateValidation = validator.Validate;

        // Kestrel's own chain would try to download CRLs; the validator decides, offline.
        https.CheckCertificateRevocation = false;
    }

    private static void ListenUnixSocket(KestrelServerOptions kestrel, string path, ILogger logger, Action<ListenOptions>? configure = null)
    {
        if (ListenersUnixSocket.Prepare(path))
        {
            ListenersLog.StaleSocketRemoved(logger, path);
        }

        kestrel.ListenUnixSocket(path, listen => configure?.Invoke(listen));
        ListenersLog.UnixSocket(logger, path);
    }

    /// <summary>Checks the listener settings without touching the network or the socket path.</summary>
    /// <exception cref="OptionsValidationException">Lists every problem found.</exception>
    public static void Validate(PluginOptions options)
    {
        var failures = ValidationFailures(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(nameof(PluginOptions), typeof(PluginOptions), failures);
        }
    }

    /// <summary>Every problem with the listener settings, each naming the setting and the fix; empty when fine.</summary>
    public static IReadOnlyList<string> ValidationFailures(PluginOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.Socket) && string.IsNullOrEmpty(options.TcpListen))
        {
            failures.Add("no listener: set Socket (default /run/docker/plugins/rbd.sock) or TcpListen (host:port)");
        }

        if (!string.IsNullOrEmpty(options.Socket))
        {
            if (!Path.IsPathFullyQualified(options.Socket))
            {
                failures.Add($"Socket={options.Socket} must be an absolute path, e.g. /run/docker/plugins/rbd.sock");
            }
            else if (System.Text.Encoding.UTF8.GetByteCount(options.Socket) > ListenersUnixSocket.MaxPathBytes)
            {
                failures.Add($"Socket={options.Socket} is too long: a unix socket path has at most {ListenersUnixSocket.MaxPathBytes} bytes");
            }
        }

        var tlsSettings = new[] { (nameof(options.TlsCert), options.TlsCert), (nameof(options.TlsKey), options.TlsKey), (nameof(options.TlsClientCa), options.TlsClientCa) };
        var missing = tlsSettings.Where(s => string.IsNullOrEmpty(s.Item2)).Select(s => s.Item1).ToList();
        var metricsOnly = string.IsNullOrEmpty(options.TcpListen) && string.IsNullOrEmpty(options.TlsClientCa) && !string.IsNullOrEmpty(options.MetricsTlsClientCa);
        if (missing.Count is > 0 and < 3 && !metricsOnly)
        {
            failures.Add($"TlsCert, TlsKey and TlsClientCa go together (mutual TLS): {string.Join(" and ", missing)} missing");
        }

        foreach (var (name, path) in tlsSettings.Append((nameof(options.MetricsTlsClientCa), options.MetricsTlsClientCa))
                     .Where(s => !string.IsNullOrEmpty(s.Item2) && !File.Exists(s.Item2)))
        {
            failures.Add($"{name}={path} does not exist");
        }

        failures.AddRange(TrustFailures(options));

        if (!string.IsNullOrEmpty(options.TcpListen))
        {
            var address = TcpListenAddress.TryParse(options.TcpListen, out var error);
            if (address is null)
            {
                failures.Add(error!);
            }
            else if (missing.Count == 3 && !(options.InsecureLoopbackHttp && address.IsLoopback))
            {
                failures.Add($"TcpListen={options.TcpListen} needs TlsCert, TlsKey and TlsClientCa (mutual TLS); " +
                    "plain HTTP is only allowed on loopback with InsecureLoopbackHttp=true");
            }
        }

        if (!string.IsNullOrEmpty(options.MetricsListen))
        {
            failures.AddRange(MetricsListenFailures(options, tlsComplete: MetricsHasTls(options)));
        }

        return failures;
    }

    private static IEnumerable<string> MetricsListenFailures(PluginOptions options, bool tlsComplete)
    {
        var metrics = TcpListenAddress.TryParse(options.MetricsListen, out var error, nameof(options.MetricsListen));
        if (metrics is null)
        {
            yield return error!;
            yield break;
        }

        if (!metrics.IsLoopback && !tlsComplete)
        {
            yield return $"MetricsListen={options.MetricsListen} is not a loopback address: metrics there need TlsCert, TlsKey and " +
                "MetricsTlsClientCa (mutual TLS with a CA of their own, not TlsClientCa, whose certificates may mount and remove volumes; " +
                "Prometheus scrapes with scheme https and a client certificate from that CA), or listen on 127.0.0.1 and scrape from this host";
        }

        if (TcpListenAddress.TryParse(options.TcpListen, out _) is { } plugin && plugin.Port != 0 && plugin.Port == metrics.Port
            && (plugin.Address is null || metrics.Address is null || plugin.Address.Equals(metrics.Address)
                || IPAddress.Any.Equals(plugin.Address) || IPAddress.Any.Equals(metrics.Address)
                || IPAddress.IPv6Any.Equals(plugin.Address) || IPAddress.IPv6Any.Equals(metrics.Address)))
        {
            yield return $"MetricsListen={options.MetricsListen} and TcpListen={options.TcpListen} would share a port: give the metrics listener its own";
        }
    }

    /// <summary>Each CA setting belongs to one listener: TlsClientCa to TcpListen, MetricsTlsClientCa to MetricsListen.</summary>
    private static IEnumerable<string> TrustFailures(PluginOptions options)
    {
        if (!string.IsNullOrEmpty(options.TlsClientCa) && string.IsNullOrEmpty(options.TcpListen))
        {
            yield return $"TlsClientCa={options.TlsClientCa} is set but TcpListen is empty: TlsClientCa is the trust of Docker's TCP listener only; " +
                "the metrics listener has its own, MetricsTlsClientCa (a CA whose certificates cannot call the plugin's verbs)";
        }

        if (!string.IsNullOrEmpty(options.MetricsTlsClientCa))
        {
            if (string.IsNullOrEmpty(options.MetricsListen))
            {
                yield return $"MetricsTlsClientCa={options.MetricsTlsClientCa} is set but MetricsListen is empty; set MetricsListen or drop MetricsTlsClientCa";
            }

            if (string.IsNullOrEmpty(options.TlsCert) || string.IsNullOrEmpty(options.TlsKey))
            {
                yield return "MetricsTlsClientCa needs TlsCert and TlsKey: the server certificate the metrics listener presents";
            }

            if (string.Equals(options.MetricsTlsClientCa, options.TlsClientCa, StringComparison.Ordinal))
            {
                yield return $"MetricsTlsClientCa and TlsClientCa are the same file ({options.TlsClientCa}): a certificate issued for Prometheus " +
                    "could then call Mount and Remove; give the metrics listener a CA of its own";
            }
        }
    }

    /// <summary>An <see cref="OptionsValidationException"/> with one message, for checks made while starting.</summary>
    internal static OptionsValidationException Invalid(string failure) =>
        new(nameof(PluginOptions), typeof(PluginOptions), [failure]);

    private static bool HasTls(PluginOptions options) =>
        !string.IsNullOrEmpty(options.TlsCert) && !string.IsNullOrEmpty(options.TlsKey) && !string.IsNullOrEmpty(options.TlsClientCa);

    private static bool MetricsHasTls(PluginOptions options) =>
        !string.IsNullOrEmpty(options.TlsCert) && !string.IsNullOrEmpty(options.TlsKey) && !string.IsNullOrEmpty(options.MetricsTlsClientCa);
}
