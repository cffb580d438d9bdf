using RbdPlugin.Hosting;

namespace RbdPlugin.Tests.Hosting;

/// <summary>UnusedMountTimeout: 5m by default, 0s turns the release of volumes Docker forgot off, 1s at least otherwise.</summary>
[Trait("Tier", "Fast")]
public sealed class UnusedMountTimeoutOptionsTests
{
    [Fact]
    public void Validate_Default_FiveMinutes() =>
        Assert.Equal(TimeSpan.FromMinutes(5), OptionsValidator.Validate(new PluginOptions(), checkFiles: false).Volumes.UnusedMountTimeout);

    [Theory]
    [InlineData("0s", 0)]
    [InlineData("3s", 3)]
    [InlineData("1h", 3600)]
    public void Validate_Accepted(string value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds),
            OptionsValidator.Validate(new PluginOptions { UnusedMountTimeout = value }, checkFiles: false).Volumes.UnusedMountTimeout);

    [Theory]
    [InlineData("500ms")]
    [InlineData("soon")]
    [InlineData("")]
    public void Validate_Refused_NamingTheSettingAndTheFix(string value)
    {
        var e = Assert.Throws<OptionsException>(() =>
            OptionsValidator.Validate(new PluginOptions { UnusedMountTimeout = value }, checkFiles: false));
        var problem = Assert.Single(e.Problems);
        Assert.StartsWith($"UnusedMountTimeout={value}:", problem, StringComparison.Ordinal);
        Assert.Contains("0s to never", problem, StringComparison.Ordinal);
    }
}
