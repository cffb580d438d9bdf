using Microsoft.Extensions.Options;
using RbdPlugin.Hosting;

namespace RbdPlugin.Tests.Observability;

/// <summary>
/// MetricsListen is checked before anything binds: plain HTTP on loopback only, mutual TLS with its own CA
/// (MetricsTlsClientCa) anywhere else, never
/// the plugin's own TCP port; each refusal names the setting and the fix, and `serve` exits 2 on it.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class MetricsListenValidationTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("rbdp-metrics-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Theory]
    [InlineData("127.0.0.1:9283")]
    [InlineData("[::1]:9283")]
    [InlineData("localhost:9283")]
    [InlineData("127.0.0.1:0")]
    public void Validate_LoopbackWithoutTls_Passes(string address) =>
        Listeners.Validate(new PluginOptions { MetricsListen = address });

    [Fact]
    public void Validate_NonLoopbackWithoutTls_RefusedNamingTheFix()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(new PluginOptions { MetricsListen = "0.0.0.0:9283" }));

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith("MetricsListen=0.0.0.0:9283 is not a loopback address: metrics there need TlsCert, TlsKey and MetricsTlsClientCa", failure, StringComparison.Ordinal);
        Assert.Contains("or listen on 127.0.0.1", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NonLoopbackWithMutualTls_Passes() =>
        Listeners.Validate(new PluginOptions
        {
            MetricsListen = "0.0.0.0:9283",
            TlsCert = Touch("server.crt"),
            TlsKey = Touch("server.key"),
            MetricsTlsClientCa = Touch("metrics-ca.crt"),
        });

    [Theory]
    [InlineData("9283", "is not host:port")]
    [InlineData("prometheus.example.com:9283", "not a DNS name")]
    [InlineData("127.0.0.1:99999", "the port must be a number")]
    public void Validate_BadAddress_RefusedNamingMetricsListen(string address, string reason)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(new PluginOptions { MetricsListen = address }));

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith($"MetricsListen={address}", failure, StringComparison.Ordinal);
        Assert.Contains(reason, failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:8443")]
    [InlineData("localhost:8443")]
    public void Validate_SamePortAsTcpListen_Refused(string metrics)
    {
        var options = new PluginOptions { TcpListen = "127.0.0.1:8443", InsecureLoopbackHttp = true, MetricsListen = metrics };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains("would share a port", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_NonLoopbackMetricsListenWithoutTls_ExitsWith2BeforeListening()
    {
        // The real executable: nothing may bind, not even Docker's socket, and no cluster is needed to refuse.
        var socket = Path.Combine(_directory.FullName, "plugin.sock");
        var result = await Infrastructure.ToolProcess.RunAsync(Infrastructure.PluginProcess.Binary,
        [
            "serve", "--socket", socket, "--state-dir", Path.Combine(_directory.FullName, "state"),
            "--ceph-conf", Touch("ceph.conf"), "--keyring", Touch("keyring"), "--metrics-listen", "0.0.0.0:9283",
        ], TimeSpan.FromSeconds(60));

        Assert.Equal(ExitCodes.InvalidConfiguration, result.ExitCode);
        Assert.Contains("MetricsListen=0.0.0.0:9283 is not a loopback address", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(socket));
    }

    private string Touch(string name)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, "");
        return path;
    }
}
