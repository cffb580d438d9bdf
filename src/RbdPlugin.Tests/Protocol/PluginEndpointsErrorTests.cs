using System.Net;
using System.Text;
using System.Text.Json;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Protocol;

/// <summary>Every way a request can fail ends in a JSON Err, never a bare status or a 415.</summary>
[Trait("Tier", "Fast")]
public sealed class PluginEndpointsErrorTests : IClassFixture<UnixSocketPluginFixture>
{
    private const string MountId = "8a1e3b7f90c2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2";

    private readonly UnixSocketPluginFixture plugin;

    public PluginEndpointsErrorTests(UnixSocketPluginFixture plugin)
    {
        this.plugin = plugin;
        plugin.Driver.Reset();
    }

    /// <summary>Each driver verb: its route, its driver method name and a valid body.</summary>
    public static TheoryData<string, string, string> DriverVerbs => new()
    {
        { Routes.Create, "Create", """{"Name":"db1","Opts":{}}""" },
        { Routes.Remove, "Remove", """{"Name":"db1"}""" },
        { Routes.Mount, "Mount", $$"""{"Name":"db1","ID":"{{MountId}}"}""" },
        { Routes.Unmount, "Unmount", $$"""{"Name":"db1","ID":"{{MountId}}"}""" },
        { Routes.Path, "Path", """{"Name":"db1"}""" },
        { Routes.Get, "Get", """{"Name":"db1"}""" },
        { Routes.List, "List", "{}" },
    };

    public static TheoryData<string> RoutesNeedingName => new()
    {
        Routes.Create, Routes.Remove, Routes.Mount, Routes.Unmount, Routes.Path, Routes.Get,
    };

    [Theory]
    [MemberData(nameof(DriverVerbs))]
    public async Task AnyVerb_DriverThrowsVolumeException_500WithItsMessage(string route, string verb, string body)
    {
        // Arrange
        plugin.Driver.Failures[verb] = new VolumeException(VolumeErrorKind.InUse, "volume db1 is mounted on host-b; unmount it there first");

        // Act
        var answer = await plugin.Client.SendAsync(route, body);

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Equal("""{"Err":"volume db1 is mounted on host-b; unmount it there first"}""", answer.Body);
    }

    [Theory]
    [MemberData(nameof(DriverVerbs))]
    public async Task AnyVerb_DriverTimesOut_500WithTimeoutErr(string route, string verb, string body)
    {
        plugin.Driver.Failures[verb] = new OperationCanceledException();

        var answer = await plugin.Client.SendAsync(route, body);

        Assert.Equal(HttpStatusCode.InternalServerError, answer.Status);
        Assert.StartsWith("timed out", Err(answer), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_UnexpectedException_500NamingRequestTypeAndMessage()
    {
        plugin.Driver.Failures["Create"] = new InvalidOperationException("journal is corrupt");

        var answer = await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1"}""");

        Assert.Equal(HttpStatusCode.InternalServerError, answer.Status);
        Assert.Matches(@"^internal error \(request [^)]+\): InvalidOperationException: journal is corrupt$", Err(answer));
    }

    [Fact]
    public async Task Create_UnexpectedExceptionCarryingKey_KeyMaskedInErr()
    {
        plugin.Driver.Failures["Create"] = new InvalidOperationException(
            "rbd --key AQB0ZXN0a2V5Zm9ydGVzdHNvbmx5XzEyMzQ1Ng== failed: key=AQB0ZXN0a2V5Zm9ydGVzdHNvbmx5XzEyMzQ1Ng==");

        var answer = await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1"}""");

        Assert.DoesNotContain("AQB0ZXN0", answer.Body, StringComparison.Ordinal);
        Assert.Contains("--key ***", answer.Body, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RoutesNeedingName))]
    public async Task VerbWithName_EmptyBody_400WithJsonErr(string route)
    {
        var answer = await plugin.Client.SendAsync(route, null);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.StartsWith("empty request body", Err(answer), StringComparison.Ordinal);
        Assert.Empty(plugin.Driver.Calls);
    }

    [Theory]
    [MemberData(nameof(RoutesNeedingName))]
    public async Task VerbWithName_MalformedJson_400NamingTheProblem(string route)
    {
        var answer = await plugin.Client.SendAsync(route, """{"Name":"db1",""");

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        var err = Err(answer);
        Assert.StartsWith($"malformed JSON in the {Routes.MethodName(route)} request: ", err, StringComparison.Ordinal);
        Assert.Contains("LineNumber", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_OptsValueNotAString_400NamingThePath()
    {
        var answer = await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1","Opts":{"size":10}}""");

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Contains("$.Opts.size", Err(answer), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RoutesNeedingName))]
    public async Task VerbWithName_NameMissingOrEmpty_400MissingName(string route)
    {
        var missing = await plugin.Client.SendAsync(route, $$"""{"ID":"{{MountId}}"}""");
        var empty = await plugin.Client.SendAsync(route, $$"""{"Name":"","ID":"{{MountId}}"}""");
        var jsonNull = await plugin.Client.SendAsync(route, "null");

        foreach (var answer in new[] { missing, empty, jsonNull })
        {
            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.StartsWith("missing Name", Err(answer), StringComparison.Ordinal);
        }

        Assert.Empty(plugin.Driver.Calls);
    }

    [Theory]
    [InlineData(Routes.Mount)]
    [InlineData(Routes.Unmount)]
    public async Task MountOrUnmount_IdMissing_400MissingId(string route)
    {
        var answer = await plugin.Client.SendAsync(route, """{"Name":"db1"}""");

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.StartsWith("missing ID", Err(answer), StringComparison.Ordinal);
        Assert.Empty(plugin.Driver.Calls);
    }

    [Fact]
    public async Task Create_BodyOverOneMiB_413TooLarge()
    {
        var huge = $$$"""{"Name":"db1","Opts":{"x":"{{{new string('a', RequestBody.MaxBytes)}}}"}}""";

        var answer = await plugin.Client.SendAsync(Routes.Create, huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.StartsWith("request body too large", Err(answer), StringComparison.Ordinal);
        Assert.Empty(plugin.Driver.Calls);
    }

    [Fact]
    public async Task Create_ChunkedBodyOverOneMiB_413TooLarge()
    {
        // No Content-Length: the limit must hold while reading, not only from the header.
        var request = DockerWire.Post(Routes.Create, null);
        request.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(new string(' ', RequestBody.MaxBytes + 10))));
        request.Headers.TransferEncodingChunked = true;

        var answer = await plugin.Client.SendRawAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.StartsWith("request body too large", Err(answer), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/VolumeDriver.Frobnicate")]
    [InlineData("/")]
    [InlineData("/NetworkDriver.CreateNetwork")]
    public async Task UnknownPath_404WithJsonErr(string path)
    {
        var answer = await plugin.Client.SendAsync(path, "{}");

        Assert.Equal(HttpStatusCode.NotFound, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.StartsWith($"unknown endpoint {path}", Err(answer), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", Routes.Get)]
    [InlineData("PUT", Routes.Create)]
    [InlineData("DELETE", Routes.Remove)]
    [InlineData("GET", Routes.Activate)]
    public async Task KnownPath_OtherMethod_405WithJsonErrAndAllowPost(string method, string route)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), route);

        var answer = await plugin.Client.SendRawAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Equal(["POST"], answer.Response.Content.Headers.Allow);
        Assert.StartsWith($"method {method} not allowed", Err(answer), StringComparison.Ordinal);
        Assert.Empty(plugin.Driver.Calls);
    }

    [Fact]
    public async Task Create_AfterErrors_ConnectionStillServes()
    {
        await plugin.Client.SendAsync(Routes.Create, "{");
        await plugin.Client.SendAsync(Routes.Create, null);

        var answer = await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
    }

    private static string Err(DockerWire.Answer answer)
    {
        using var json = JsonDocument.Parse(answer.Body);
        return json.RootElement.GetProperty("Err").GetString()!;
    }
}
