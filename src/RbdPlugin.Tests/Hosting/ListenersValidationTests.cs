using Microsoft.Extensions.Options;
using RbdPlugin.Hosting;

namespace RbdPlugin.Tests.Hosting;

/// <summary>Listener settings are checked before anything binds; each message names the setting and the fix.</summary>
[Trait("Tier", "Fast")]
public sealed class ListenersValidationTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("rbdp-");

    public void Dispose() => directory.Delete(recursive: true);

    [Fact]
    public void Validate_Defaults_Passes()
    {
        Listeners.Validate(new PluginOptions());
    }

    [Fact]
    public void Validate_NonLoopbackTcpWithoutTls_RefusedNamingSettingAndFix()
    {
        var options = new PluginOptions { TcpListen = "0.0.0.0:8443" };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Equal(
            "TcpListen=0.0.0.0:8443 needs TlsCert, TlsKey and TlsClientCa (mutual TLS); plain HTTP is only allowed on loopback with InsecureLoopbackHttp=true",
            Assert.Single(error.Failures));
    }

    [Fact]
    public void Validate_NonLoopbackTcpWithInsecureFlag_StillRefused()
    {
        var options = new PluginOptions { TcpListen = "0.0.0.0:8443", InsecureLoopbackHttp = true };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains("only allowed on loopback", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:8080")]
    [InlineData("[::1]:8080")]
    [InlineData("localhost:8080")]
    public void Validate_LoopbackTcpWithInsecureFlag_Passes(string address)
    {
        Listeners.Validate(new PluginOptions { TcpListen = address, InsecureLoopbackHttp = true });
    }

    [Fact]
    public void Validate_LoopbackTcpWithoutInsecureFlag_Refused()
    {
        var options = new PluginOptions { TcpListen = "127.0.0.1:8080" };

        Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));
    }

    [Theory]
    [InlineData("8443", "is not host:port")]
    [InlineData("::1:8443", "IPv6 goes in brackets")]
    [InlineData("[::1]8443", "is not [ipv6]:port")]
    [InlineData("127.0.0.1:http", "the port must be a number")]
    [InlineData("127.0.0.1:70000", "the port must be a number")]
    [InlineData("plugins.example.com:8443", "not a DNS name")]
    [InlineData("localhost:0", "localhost needs a fixed port")]
    public void Validate_BadTcpListen_RefusedWithReason(string address, string reason)
    {
        var options = new PluginOptions { TcpListen = address, InsecureLoopbackHttp = true };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains($"TcpListen={address}", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PartialTls_RefusedNamingWhatIsMissing()
    {
        var cert = Touch("server.crt");
        var options = new PluginOptions { TcpListen = "127.0.0.1:8443", TlsCert = cert };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains("TlsCert, TlsKey and TlsClientCa go together (mutual TLS): TlsKey and TlsClientCa missing", error.Failures);
    }

    [Fact]
    public void Validate_TlsFileMissing_RefusedNamingTheFile()
    {
        var options = new PluginOptions
        {
            TcpListen = "127.0.0.1:8443",
            TlsCert = Touch("server.crt"),
            TlsKey = Touch("server.key"),
            TlsClientCa = Path.Combine(directory.FullName, "nope.crt"),
        };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains($"TlsClientCa={options.TlsClientCa} does not exist", error.Failures);
    }

    [Fact]
    public void Validate_RelativeSocket_Refused()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(new PluginOptions { Socket = "rbd.sock" }));

        Assert.Contains("Socket=rbd.sock must be an absolute path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SocketPathOver107Bytes_Refused()
    {
        var options = new PluginOptions { Socket = "/run/" + new string('x', 120) + ".sock" };

        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(options));

        Assert.Contains("too long", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NoListenerAtAll_Refused()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Listeners.Validate(new PluginOptions { Socket = "" }));

        Assert.StartsWith("no listener", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    private string Touch(string name)
    {
        var path = Path.Combine(directory.FullName, name);
        File.WriteAllText(path, "");
        return path;
    }
}
