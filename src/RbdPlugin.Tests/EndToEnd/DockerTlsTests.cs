using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// Docker reaching the plugin over HTTPS through a .json spec with TLSConfig (mutual TLS), with certificates made
/// by deploy/docker-plugin-spec/make-dev-certs.sh; a client without a certificate is refused. On an engine of its
/// own: dockerd keeps every plugin it once activated for its lifetime and asks each one on every `volume ls` or
/// lookup, retrying a vanished one for 15 s, so a plugin that lives for one test must never be seen by the engine
/// the other tests share.
/// </summary>
[Trait("Tier", "Docker")]
public sealed class DockerTlsTests : IAsyncLifetime
{
    private const string EngineName = "tls";

    // dockerd reads a plugin's spec once per lifetime and caches it by name: a fresh name per test, a fresh lookup.
    private readonly string _driver = "rbdtls" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _root = Directory.CreateTempSubdirectory("rbd-plugin-tls-").FullName;
    private readonly string _volume = DevCluster.NewName();
    private readonly int _port = FreePort();
    private PluginProcess _plugin = null!;

    private string Certs => Path.Combine(_root, "tls");

    public async Task InitializeAsync()
    {
        await RunAsync(Path.Combine(RepoRoot(), "deploy/docker-plugin-spec/make-dev-certs.sh"), Certs);
        _plugin = new PluginProcess(_root, "host-tls", "--tcp-listen", $"127.0.0.1:{_port}",
            "--tls-cert", Path.Combine(Certs, "server.pem"), "--tls-key", Path.Combine(Certs, "server-key.pem"),
            "--tls-client-ca", Path.Combine(Certs, "ca.pem"))
        {
            Socket = "",
        };
        await _plugin.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _plugin.DisposeAsync();
        await HostCleanup.ReleaseUnderAsync(_root);
        await CephCli.RunAsync("rbd", "rm", $"{DevCluster.Pool}/{_volume}");
        await CephCli.RunAsync("rados", "-p", DevCluster.Pool, "rm", $"rbd-plugin.lease.{_volume}");
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task DockerOverMutualTls_CreatesAndMounts()
    {
        await using var engine = await NamedEngine.UpAsync(EngineName);
        var spec = Path.Combine(engine.PluginSpecDirectory, $"{_driver}.json");
        await File.WriteAllTextAsync(spec, JsonSerializer.Serialize(new
        {
            Name = _driver,
            Addr = $"https://127.0.0.1:{_port}",
            TLSConfig = new
            {
                CAFile = Path.Combine(Certs, "ca.pem"),
                CertFile = Path.Combine(Certs, "docker-client.pem"),
                KeyFile = Path.Combine(Certs, "docker-client-key.pem"),
                InsecureSkipVerify = false,
            },
        }));
        try
        {
            (await engine.DockerAsync("volume", "create", "-d", _driver, "-o", "size=1G", _volume)).EnsureSuccess();
            var run = (await engine.DockerAsync("run", "--rm", "--network", "none", "-v", $"{_volume}:/data", DockerCli.Image, "sh", "-c",
                "echo over tls > /data/t && cat /data/t")).EnsureSuccess();
            Assert.Equal("over tls", run.Output);
            (await engine.DockerAsync("volume", "rm", _volume)).EnsureSuccess();
        }
        finally
        {
            File.Delete(spec); // a later engine of this name would ask the vanished plugin on every `volume ls`
        }
        Assert.Contains(_plugin.Log, l => l.Contains(_volume, StringComparison.Ordinal) && l.Contains("Mount", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ClientWithoutCertificate_Refused()
    {
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, _, _, _) => true,
        };
        using var http = new HttpClient(handler);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
            http.PostAsync(new Uri($"https://127.0.0.1:{_port}/Plugin.Activate"), null));

        Assert.NotNull(e);
        Assert.DoesNotContain(_plugin.Log, l => l.Contains("Activate", StringComparison.Ordinal) && l.Contains("ok", StringComparison.Ordinal));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RbdPlugin.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }

    private static async Task RunAsync(string program, params string[] args) =>
        (await Infrastructure.ToolProcess.RunAsync(program, args)).EnsureSuccess(program);
}
