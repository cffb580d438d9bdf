using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RbdPlugin.Hosting;
using RbdPlugin.Protocol;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Tests.Infrastructure;
using RbdPlugin.Tests.Protocol;

namespace RbdPlugin.Tests.Hosting;

/// <summary>
/// Docker's TCP listener and the metrics listener trust separate CAs (TlsClientCa, MetricsTlsClientCa): a
/// certificate issued for Prometheus never calls Mount or Remove, not even one from an intermediate under Docker's
/// root that is listed as a metrics CA, and Docker's certificate never scrapes. Both speak TLS 1.2 or newer only.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ListenerTrustTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("rbdp-trust-");
    private readonly X509Certificate2 _dockerCa = TestCertificates.CreateAuthority("docker clients CA");
    private readonly X509Certificate2 _metricsCa = TestCertificates.CreateAuthority("prometheus clients CA");
    private readonly X509Certificate2 _intermediate;
    private readonly int _pluginPort = FreePort();
    private readonly int _metricsPort = FreePort();

    public ListenerTrustTests() => _intermediate = TestCertificates.IssueAuthority(_dockerCa, "prometheus intermediate");

    public void Dispose()
    {
        _dockerCa.Dispose();
        _metricsCa.Dispose();
        _intermediate.Dispose();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Activate_PrometheusCertificateFromTheMetricsCa_AcceptedOnTheMetricsListenerOnly()
    {
        // Arrange
        await using var server = await StartAsync(Options());
        using var prometheus = TestCertificates.IssueClient(_metricsCa, "prometheus");
        using var metrics = Client(_metricsPort, prometheus);
        using var plugin = Client(_pluginPort, prometheus);

        // Act
        var scraped = await metrics.GetAsync(new Uri("/healthz", UriKind.Relative));

        // Assert: the handshake passed there (what the route answers is the listener scopes' business), not here.
        Assert.NotNull(scraped);
        await Assert.ThrowsAsync<HttpRequestException>(() => plugin.SendAsync(Routes.Activate, null));
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Warning
            && e.Message.StartsWith("Rejected client certificate CN=prometheus", StringComparison.Ordinal)
            && e.Message.Contains("on Docker's TCP listener (TlsClientCa)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Activate_CertificateOfAMetricsIntermediateUnderDockersRoot_RefusedOnDockersListenerAndLogged()
    {
        // Arrange: MetricsTlsClientCa also lists an intermediate that Docker's root signed, so its certificates chain to TlsClientCa.
        var options = Options();
        await File.AppendAllTextAsync(options.MetricsTlsClientCa, "\n" + _intermediate.ExportCertificatePem() + "\n");
        await using var server = await StartAsync(options);
        using var prometheus = TestCertificates.IssueClient(_intermediate, "prometheus");
        using var client = Client(_pluginPort, prometheus, _intermediate);

        // Act + Assert
        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Routes.Activate, null));
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Warning
            && e.Message.StartsWith("Rejected client certificate CN=prometheus", StringComparison.Ordinal)
            && e.Message.Contains("chains through CN=prometheus intermediate, a CA trusted only by the other listener", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Activate_DockersCertificateOnTheMetricsListener_Refused()
    {
        await using var server = await StartAsync(Options());
        using var docker = TestCertificates.IssueClient(_dockerCa, "dockerd");
        using var client = Client(_metricsPort, docker);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task Activate_DockersCertificateOnDockersListener_StillAccepted()
    {
        await using var server = await StartAsync(Options());
        using var docker = TestCertificates.IssueClient(_dockerCa, "dockerd");
        using var client = Client(_pluginPort, docker);

        var answer = await client.SendAsync(Routes.Activate, null);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
    }

    [Fact]
    public void Validate_OneCaFileForBothListeners_RefusedNamingBoth()
    {
        var options = Options();
        options.MetricsTlsClientCa = options.TlsClientCa;

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains(error.Failures, f => f.StartsWith("MetricsTlsClientCa and TlsClientCa are the same file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_TwoCaFilesSharingACertificate_RefusedBeforeListening()
    {
        var options = Options();
        var (copy, _) = TestCertificates.WritePem(_dockerCa, _directory.FullName, "copy-of-docker-ca");
        options.MetricsTlsClientCa = copy;

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => PluginServer.StartAsync(options, new FakeVolumeDriver()));

        Assert.Contains("share the CA CN=docker clients CA", error.Message, StringComparison.Ordinal);
        Assert.Contains("give the metrics listener a CA of its own", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MetricsOffLoopbackWithOnlyDockersCa_RefusedNamingMetricsTlsClientCa()
    {
        var options = Options();
        options.MetricsListen = $"0.0.0.0:{_metricsPort}";
        options.MetricsTlsClientCa = "";

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains(error.Failures, f => f.Contains("need TlsCert, TlsKey and MetricsTlsClientCa", StringComparison.Ordinal));
    }

    [Fact]
    public void ConfigureHttps_BothListeners_OnlyTls12AndTls13()
    {
        var https = new HttpsConnectionAdapterOptions();

        Listeners.ConfigureHttps(https, _dockerCa, [], new TlsClientCertificateValidator([_dockerCa], NullLogger.Instance));

        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, https.SslProtocols);
        Assert.Equal(ClientCertificateMode.RequireCertificate, https.ClientCertificateMode);
    }

    [Theory]
    [InlineData("-tls1_1")]
    [InlineData("-tls1")]
    public async Task Handshake_OldTlsVersion_RefusedOnBothListeners(string version)
    {
        // openssl s_client, told to allow the old protocol (SECLEVEL=0), with a valid client certificate.
        await using var server = await StartAsync(Options());
        using var docker = TestCertificates.IssueClient(_dockerCa, "dockerd");
        var (cert, key) = TestCertificates.WritePem(docker, _directory.FullName, "docker-client");

        foreach (var port in new[] { _pluginPort, _metricsPort })
        {
            var handshake = await ToolProcess.RunAsync("openssl",
                ["s_client", "-connect", $"127.0.0.1:{port}", version, "-cipher", "DEFAULT:@SECLEVEL=0", "-cert", cert, "-key", key, "-brief"],
                TimeSpan.FromSeconds(30), stdin: "");

            Assert.NotEqual(0, handshake.ExitCode);
            Assert.DoesNotContain("Protocol version: TLSv1.1", handshake.Stdout + handshake.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Protocol version: TLSv1\n", handshake.Stdout + handshake.Stderr, StringComparison.Ordinal);
        }
    }

    private PluginOptions Options()
    {
        using var serverCertificate = TestCertificates.IssueServer(_dockerCa);
        var (cert, key) = TestCertificates.WritePem(serverCertificate, _directory.FullName, "server");
        var (dockerCa, _) = TestCertificates.WritePem(_dockerCa, _directory.FullName, "docker-ca");
        var (metricsCa, _) = TestCertificates.WritePem(_metricsCa, _directory.FullName, "metrics-ca");
        return new PluginOptions
        {
            Socket = "",
            TcpListen = $"127.0.0.1:{_pluginPort}",
            MetricsListen = $"127.0.0.1:{_metricsPort}",
            TlsCert = cert,
            TlsKey = key,
            TlsClientCa = dockerCa,
            MetricsTlsClientCa = metricsCa,
        };
    }

    private static Task<PluginServer> StartAsync(PluginOptions options) => PluginServer.StartAsync(options, new FakeVolumeDriver());

    /// <summary>A client presenting <paramref name="certificate"/> (with <paramref name="intermediate"/>, if any), trusting Docker's CA for the server.</summary>
    private HttpClient Client(int port, X509Certificate2 certificate, X509Certificate2? intermediate = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(certificate,
            intermediate is null ? [] : new X509Certificate2Collection(intermediate), offline: true);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(_dockerCa);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return presented is X509Certificate2 server && chain.Build(server);
        };

        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
