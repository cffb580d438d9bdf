using System.Collections;
using RbdPlugin.Hosting;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Hosting;

[Trait("Tier", "Fast")]
public sealed class OptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-plugin-opts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteConfig(string json)
    {
        var path = Path.Combine(_dir, "rbd-plugin.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static readonly Dictionary<string, string> NoFlags = [];

    [Fact]
    public void SettingNames_DerivedFromProperties()
    {
        var mountRoot = SettingName.All.Single(s => s.Key == "MountRoot");
        Assert.Equal("RBD_PLUGIN_MOUNT_ROOT", mountRoot.EnvVar);
        Assert.Equal("--mount-root", mountRoot.Flag);
        Assert.Equal("--tls-client-ca", SettingName.All.Single(s => s.Key == "TlsClientCa").Flag);
        Assert.True(SettingName.All.Single(s => s.Key == "AllowedPools").IsList);
        Assert.All(SettingName.All, s => Assert.NotEmpty(s.Description));
    }

    [Fact]
    public void Load_FlagsBeatEnvironmentBeatFile()
    {
        var path = WriteConfig("""{ "Pool": "from-file", "MountRoot": "/file", "StateDir": "/file-state" }""");
        var env = new Hashtable { ["RBD_PLUGIN_POOL"] = "from-env", ["RBD_PLUGIN_MOUNT_ROOT"] = "/env" };
        var flags = new Dictionary<string, string> { ["Pool"] = "from-flag" };

        var options = OptionsLoader.Load(path, flags, env);

        Assert.Equal("from-flag", options.Pool);
        Assert.Equal("/env", options.MountRoot);
        Assert.Equal("/file-state", options.StateDir);
    }

    [Fact]
    public void Load_ListFromEnvironment_Splits()
    {
        var options = OptionsLoader.Load(WriteConfig("{}"), NoFlags, new Hashtable { ["RBD_PLUGIN_ALLOWED_POOLS"] = "a, b" });
        Assert.Equal(["a", "b"], options.AllowedPools);
    }

    [Fact]
    public void Load_UnknownKeyInFile_IsAnError()
    {
        var e = Assert.Throws<OptionsException>(() => OptionsLoader.Load(WriteConfig("""{ "Pol": "x" }"""), NoFlags, new Hashtable()));
        Assert.Contains("Pol", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingExplicitFile_SaysSo() =>
        Assert.Contains("does not exist", Assert.Throws<OptionsException>(() =>
            OptionsLoader.Load(Path.Combine(_dir, "nope.json"), NoFlags, new Hashtable())).Message, StringComparison.Ordinal);

    [Fact]
    public void Validate_Defaults_AreValid()
    {
        var validated = OptionsValidator.Validate(new PluginOptions(), checkFiles: false);
        Assert.Equal(["rbd"], validated.Volumes.AllowedPools);
        Assert.Equal(RemoveAction.Trash, validated.Volumes.RemoveAction);
        Assert.Equal(TimeSpan.FromSeconds(2), validated.Volumes.UnmountGrace);
        Assert.Equal(Environment.MachineName, validated.Volumes.HostId);
        Assert.Equal(TimeSpan.FromSeconds(30), validated.Volumes.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(7), validated.Volumes.LeaseWait); // UnmountGrace + 5s
    }

    [Theory]
    [InlineData("30s", "", 30, 7)]
    [InlineData("6s", "1s", 6, 1)]
    public void Validate_LeaseSettings_Resolved(string duration, string wait, int durationSeconds, int waitSeconds)
    {
        var validated = OptionsValidator.Validate(new PluginOptions { LeaseDuration = duration, LeaseWait = wait, CephTimeout = "2s" }, checkFiles: false);
        Assert.Equal(TimeSpan.FromSeconds(durationSeconds), validated.Volumes.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(waitSeconds), validated.Volumes.LeaseWait);
    }

    [Theory]
    [InlineData("3s", "30s")]
    [InlineData("29s", "10s")]
    public void Validate_LeaseTooShortForTheCephTimeout_RefusedNamingBothAndTheMinimum(string duration, string timeout)
    {
        var e = Assert.Throws<OptionsException>(() =>
            OptionsValidator.Validate(new PluginOptions { LeaseDuration = duration, CephTimeout = timeout }, checkFiles: false));

        var problem = Assert.Single(e.Problems, p => p.StartsWith("LeaseDuration", StringComparison.Ordinal));
        Assert.Contains($"CephTimeout={timeout}", problem, StringComparison.Ordinal);
        Assert.Contains($"at least {3 * int.Parse(timeout.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture)}s", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Defaults_LeaseFitsTwoRenewalsOfAFullCephTimeout()
    {
        var validated = OptionsValidator.Validate(new PluginOptions(), checkFiles: false);

        Assert.True(validated.Volumes.LeaseDuration >= 2 * (validated.CephTimeout + LeaseRenewer.IntervalOf(validated.Volumes.LeaseDuration)));
    }

    [Theory]
    [InlineData("1s", "")]
    [InlineData("1h", "")]
    [InlineData("30s", "2m")]
    [InlineData("30s", "soon")]
    public void Validate_LeaseSettingsOutOfRange_Refused(string duration, string wait)
    {
        var e = Assert.Throws<OptionsException>(() =>
            OptionsValidator.Validate(new PluginOptions { LeaseDuration = duration, LeaseWait = wait }, checkFiles: false));
        Assert.Contains(e.Problems, p => p.StartsWith("Lease", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ManyProblems_AllReportedWithTheSettingName()
    {
        var options = new PluginOptions
        {
            CephConf = Path.Combine(_dir, "missing.conf"),
            Keyring = Path.Combine(_dir, "missing.keyring"),
            DefaultSize = "huge",
            Mapper = "magic",
            MountRoot = "relative/path",
            RemoveAction = "shred",
            UnmountGrace = "2",
            Socket = "",
            LogFormat = "xml",
        };

        var e = Assert.Throws<OptionsException>(() => OptionsValidator.Validate(options));

        foreach (var setting in new[] { "CephConf=", "Keyring=", "DefaultSize=", "Mapper=", "MountRoot=", "RemoveAction=", "UnmountGrace=", "Socket and TcpListen", "LogFormat=" })
        {
            Assert.Contains(e.Problems, p => p.StartsWith(setting, StringComparison.Ordinal));
        }

        Assert.Contains(e.Problems, p => p.Contains("ceph auth get client.docker", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2000)]
    [InlineData("10m", 600_000)]
    [InlineData("1d", 86_400_000)]
    public void Duration_Units(string text, int ms)
    {
        Assert.True(Duration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), value);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("-1s")]
    [InlineData("1.5s")]
    [InlineData("")]
    public void Duration_Ambiguous_Refused(string text) => Assert.False(Duration.TryParse(text, out _));
}
