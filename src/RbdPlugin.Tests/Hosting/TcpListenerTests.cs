using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RbdPlugin.Hosting;
using RbdPlugin.Protocol;
using RbdPlugin.Tests.Protocol;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Hosting;

/// <summary>
/// The TCP listener over real TLS on 127.0.0.1: a client certificate from TlsClientCa gets in, nothing else does;
/// plain HTTP only on loopback and only when asked for.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class TcpListenerTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("rbdp-tls-");
    private readonly X509Certificate2 authority = TestCertificates.CreateAuthority("rbd-plugin test CA");
    private readonly X509Certificate2 otherAuthority = TestCertificates.CreateAuthority("someone else's CA");

    public void Dispose()
    {
        authority.Dispose();
        otherAuthority.Dispose();
        directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Activate_ClientCertificateFromClientCa_200()
    {
        // Arrange
        await using var server = await StartTlsAsync();
        using var client = TlsClient(server, TestCertificates.IssueClient(authority));

        // Act
        var answer = await client.SendAsync(Routes.Activate, null);

        // Assert
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Implements":["VolumeDriver"]}""", answer.Body);
    }

    [Fact]
    public async Task Activate_NoClientCertificate_ConnectionRefused()
    {
        await using var server = await StartTlsAsync();
        using var client = TlsClient(server, null);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Routes.Activate, null));
    }

    [Fact]
    public async Task Activate_ClientCertificateFromOtherCa_ConnectionRefusedAndLogged()
    {
        await using var server = await StartTlsAsync();
        using var client = TlsClient(server, TestCertificates.IssueClient(otherAuthority, "intruder"));

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Routes.Activate, null));

        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Warning &&
            e.Message.StartsWith("Rejected client certificate CN=intruder", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Activate_ServerCertificateAsDockerChecksIt_ChainsToCaWithLoopbackName()
    {
        // Docker verifies the plugin with its CAFile: the server must present a certificate valid for 127.0.0.1.
        await using var server = await StartTlsAsync();
        SslPolicyErrors? seen = null;
        using var client = TlsClient(server, TestCertificates.IssueClient(authority), errors => seen = errors);

        await client.SendAsync(Routes.Activate, null);

        Assert.Equal(SslPolicyErrors.None, seen);
    }

    [Fact]
    public async Task Start_TlsCertFileNotPem_RefusedNamingTheSetting()
    {
        var options = TlsOptions();
        await File.WriteAllTextAsync(options.TlsCert, "not a certificate");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => PluginServer.StartAsync(options, new FakeVolumeDriver()));

        Assert.StartsWith($"TlsCert={options.TlsCert} with TlsKey={options.TlsKey}: cannot load", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NonLoopbackWithoutTls_Refused()
    {
        var options = new PluginOptions { Socket = "", TcpListen = "0.0.0.0:8443", InsecureLoopbackHttp = true };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => PluginServer.StartAsync(options, new FakeVolumeDriver()));

        Assert.Contains("plain HTTP is only allowed on loopback with InsecureLoopbackHttp=true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Activate_InsecureLoopbackHttp_ServesPlainHttpWithLoudWarning()
    {
        var options = new PluginOptions { Socket = "", TcpListen = "127.0.0.1:0", InsecureLoopbackHttp = true };
        await using var server = await PluginServer.StartAsync(options, new FakeVolumeDriver());
        using var client = new HttpClient { BaseAddress = new Uri(server.Addresses.Single()) };

        var answer = await client.SendAsync(Routes.Activate, null);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.StartsWith("http://127.0.0.1:", server.Addresses.Single(), StringComparison.Ordinal);
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("INSECURE", StringComparison.Ordinal));
    }

    private PluginOptions TlsOptions()
    {
        using var serverCertificate = TestCertificates.IssueServer(authority);
        var (cert, key) = TestCertificates.WritePem(serverCertificate, directory.FullName, "server");
        var (ca, _) = TestCertificates.WritePem(authority, directory.FullName, "client-ca");
        return new PluginOptions { Socket = "", TcpListen = "127.0.0.1:0", TlsCert = cert, TlsKey = key, TlsClientCa = ca };
    }

    private Task<PluginServer> StartTlsAsync() => PluginServer.StartAsync(TlsOptions(), new FakeVolumeDriver());

    /// <summary>A client like dockerd with a .json spec: trusts only the test CA, presents the given certificate.</summary>
    private HttpClient TlsClient(PluginServer server, X509Certificate2? clientCertificate, Action<SslPolicyErrors>? observe = null)
    {
        var handler = new SocketsHttpHandler();
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(authority);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            var valid = certificate is X509Certificate2 presented && chain.Build(presented);
            var result = (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) | (valid ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
            observe?.Invoke(result);
            return result == SslPolicyErrors.None;
        };

        return new HttpClient(handler) { BaseAddress = new Uri(server.Addresses.Single()), Timeout = TimeSpan.FromSeconds(30) };
    }
}
