using Microsoft.Extensions.Logging;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Protocol;

/// <summary>One structured line per request, inside a request-id scope.</summary>
[Trait("Tier", "Fast")]
public sealed class PluginEndpointsLoggingTests : IClassFixture<UnixSocketPluginFixture>
{
    private const string MountId = "8a1e3b7f90c2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2";

    private readonly UnixSocketPluginFixture plugin;

    public PluginEndpointsLoggingTests(UnixSocketPluginFixture plugin)
    {
        this.plugin = plugin;
        plugin.Driver.Reset();
        plugin.Server.Logs.Entries.Clear();
    }

    [Fact]
    public async Task Mount_Succeeds_OneOkLineWithVolumeMountIdPrefixAndDuration()
    {
        // Act
        await plugin.Client.SendAsync(Routes.Mount, $$"""{"Name":"db1","ID":"{{MountId}}"}""");

        // Assert
        var line = Assert.Single(RequestLines());
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("VolumeDriver.Mount", line.Values["Verb"]);
        Assert.Equal("db1", line.Values["Volume"]);
        Assert.Equal(MountId[..12], line.Values["MountId"]);
        Assert.Equal("ok", line.Values["Outcome"]);
        Assert.IsType<double>(line.Values["ElapsedMs"]);
        Assert.False(string.IsNullOrEmpty(line.ScopeValues["RequestId"] as string));
    }

    [Fact]
    public async Task Create_DriverRefuses_OneWarningLineWithErrorKind()
    {
        plugin.Driver.Failures["Create"] = new VolumeException(VolumeErrorKind.InvalidArgument, "size must be a number");

        await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1","Opts":{"size":"huge"}}""");

        var line = Assert.Single(RequestLines());
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("VolumeDriver.Create", line.Values["Verb"]);
        Assert.Equal("db1", line.Values["Volume"]);
        Assert.Equal("err", line.Values["Outcome"]);
        Assert.Equal("InvalidArgument", line.Values["ErrorKind"]);
        Assert.Equal("size must be a number", line.Values["Err"]);
        Assert.Null(line.Exception);
    }

    [Fact]
    public async Task Remove_UnexpectedException_ErrorLineWithExceptionAndTheRequestIdTheUserSees()
    {
        plugin.Driver.Failures["Remove"] = new InvalidOperationException("boom");

        var answer = await plugin.Client.SendAsync(Routes.Remove, """{"Name":"db1"}""");

        var line = Assert.Single(RequestLines());
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Equal("db1", line.Values["Volume"]);
        Assert.Equal("Internal", line.Values["ErrorKind"]);
        Assert.IsType<InvalidOperationException>(line.Exception);
        Assert.Contains($"(request {line.ScopeValues["RequestId"]})", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unmount_MissingId_BadRequestLineStillNamesTheVolume()
    {
        await plugin.Client.SendAsync(Routes.Unmount, """{"Name":"db1"}""");

        var line = Assert.Single(RequestLines());
        Assert.Equal("db1", line.Values["Volume"]);
        Assert.Equal("BadRequest", line.Values["ErrorKind"]);
    }

    [Fact]
    public async Task Get_MalformedJson_BadRequestLine()
    {
        await plugin.Client.SendAsync(Routes.Get, "{");

        var line = Assert.Single(RequestLines());
        Assert.Equal("BadRequest", line.Values["ErrorKind"]);
    }

    private List<CapturingLoggerProvider.Entry> RequestLines() =>
        [.. plugin.Server.Logs.Entries.Where(e => e.Category == typeof(PluginEndpoints).FullName)];
}
