using System.Net;
using System.Text.Json;
using RbdPlugin.Protocol;
using RbdPlugin.Volumes;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Protocol;

/// <summary>Every verb's success answer, field for field, over a real Kestrel on a unix socket.</summary>
[Trait("Tier", "Fast")]
public sealed class PluginEndpointsSuccessTests : IClassFixture<UnixSocketPluginFixture>
{
    private const string MountId = "8a1e3b7f90c2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2";

    private readonly UnixSocketPluginFixture plugin;

    public PluginEndpointsSuccessTests(UnixSocketPluginFixture plugin)
    {
        this.plugin = plugin;
        plugin.Driver.Reset();
    }

    private FakeVolumeDriver Driver => plugin.Driver;

    [Fact]
    public async Task Activate_EmptyBody_ImplementsVolumeDriver()
    {
        // Act
        var answer = await plugin.Client.SendAsync(Routes.Activate, null);

        // Assert
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Implements":["VolumeDriver"]}""", answer.Body);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Empty(Driver.Calls);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{}")]
    public async Task Capabilities_EmptyOrEmptyObject_ScopeGlobal(string? body)
    {
        var answer = await plugin.Client.SendAsync(Routes.Capabilities, body);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Capabilities":{"Scope":"global"}}""", answer.Body);
    }

    [Fact]
    public async Task Create_NameAndOpts_PassesBothToDriver()
    {
        var answer = await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1","Opts":{"size":"10G","fstype":"xfs"}}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Err":""}""", answer.Body);
        var call = Assert.Single(Driver.Calls);
        Assert.Equal("Create", call.Verb);
        Assert.Equal("db1", call.Name);
        Assert.Equal(new Dictionary<string, string> { ["size"] = "10G", ["fstype"] = "xfs" }, call.Options);
    }

    [Fact]
    public async Task Create_OptsNull_PassesNullOptions()
    {
        // docker volume create -d rbd db1 (no -o) sends "Opts":null.
        var answer = await plugin.Client.SendAsync(Routes.Create, """{"Name":"db1","Opts":null}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Err":""}""", answer.Body);
        Assert.Null(Assert.Single(Driver.Calls).Options);
    }

    [Fact]
    public async Task Remove_Name_CallsDriver()
    {
        var answer = await plugin.Client.SendAsync(Routes.Remove, """{"Name":"db1"}""");

        Assert.Equal("""{"Err":""}""", answer.Body);
        Assert.Equal(new FakeVolumeDriver.Call("Remove", "db1"), Assert.Single(Driver.Calls));
    }

    [Fact]
    public async Task Mount_NameAndId_ReturnsMountpoint()
    {
        Driver.MountResult = "/mnt/volumes/db1";

        var answer = await plugin.Client.SendAsync(Routes.Mount, $$"""{"Name":"db1","ID":"{{MountId}}"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Mountpoint":"/mnt/volumes/db1","Err":""}""", answer.Body);
        Assert.Equal(new FakeVolumeDriver.Call("Mount", "db1", MountId), Assert.Single(Driver.Calls));
    }

    [Fact]
    public async Task Unmount_NameAndId_CallsDriver()
    {
        var answer = await plugin.Client.SendAsync(Routes.Unmount, $$"""{"Name":"db1","ID":"{{MountId}}"}""");

        Assert.Equal("""{"Err":""}""", answer.Body);
        Assert.Equal(new FakeVolumeDriver.Call("Unmount", "db1", MountId), Assert.Single(Driver.Calls));
    }

    [Fact]
    public async Task Path_MountedHere_ReturnsMountpoint()
    {
        Driver.PathResult = "/mnt/volumes/db1";

        var answer = await plugin.Client.SendAsync(Routes.Path, """{"Name":"db1"}""");

        Assert.Equal("""{"Mountpoint":"/mnt/volumes/db1","Err":""}""", answer.Body);
    }

    [Fact]
    public async Task Path_NotMountedHere_ReturnsEmptyMountpoint()
    {
        var answer = await plugin.Client.SendAsync(Routes.Path, """{"Name":"db1"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Mountpoint":"","Err":""}""", answer.Body);
    }

    [Fact]
    public async Task Get_KnownVolume_ReturnsAllFields()
    {
        Driver.GetResult = new VolumeInfo("db1", "/mnt/volumes/db1", new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero),
            new Dictionary<string, object> { ["pool"] = "rbd" });

        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"db1"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(
            """{"Volume":{"Name":"db1","Mountpoint":"/mnt/volumes/db1","CreatedAt":"2026-05-01T10:00:00Z","Status":{"pool":"rbd"}},"Err":""}""",
            answer.Body);
    }

    [Fact]
    public async Task Get_NotMountedNoCreationTime_OmitsOptionalFields()
    {
        Driver.GetResult = new VolumeInfo("db1", null, null, new Dictionary<string, object>());

        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"db1"}""");

        Assert.Equal("""{"Volume":{"Name":"db1","Status":{}},"Err":""}""", answer.Body);
    }

    [Fact]
    public async Task Get_UnknownVolume_ReturnsNullVolumeAndEmptyErr()
    {
        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"nope"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Volume":null,"Err":""}""", answer.Body);
    }

    [Fact]
    public async Task Get_DriverThrowsNotFound_ReturnsNullVolume()
    {
        Driver.Failures["Get"] = new VolumeException(VolumeErrorKind.NotFound, "volume nope does not exist");

        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"nope"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Volume":null,"Err":""}""", answer.Body);
    }

    [Fact]
    public async Task Get_DriverAnswersOtherName_EchoesRequestedName()
    {
        Driver.GetResult = new VolumeInfo("DB1", null, null, new Dictionary<string, object>());

        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"db1"}""");

        Assert.Contains("\"Name\":\"db1\"", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_CreatedAtWithOffsetAndFraction_Rfc3339WholeSecondsWithOffset()
    {
        Driver.GetResult = new VolumeInfo("db1", null,
            new DateTimeOffset(2026, 5, 1, 12, 0, 0, 789, TimeSpan.FromHours(2)), new Dictionary<string, object>());

        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"db1"}""");

        using var json = JsonDocument.Parse(answer.Body);
        Assert.Equal("2026-05-01T12:00:00+02:00", json.RootElement.GetProperty("Volume").GetProperty("CreatedAt").GetString());
    }

    [Fact]
    public async Task Get_StatusOfMixedScalars_RoundTripsWithJsonTypes()
    {
        Driver.GetResult = new VolumeInfo("db1", null, null, new Dictionary<string, object>
        {
            ["pool"] = "rbd",
            ["sizeBytes"] = 10737418240L,
            ["objects"] = 2560,
            ["readOnly"] = false,
            ["usedRatio"] = 0.25,
            ["lastMounted"] = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero),
            ["mapper"] = StringComparison.Ordinal,
        });

        var answer = await plugin.Client.SendAsync(Routes.Get, """{"Name":"db1"}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        using var json = JsonDocument.Parse(answer.Body);
        var status = json.RootElement.GetProperty("Volume").GetProperty("Status");
        Assert.Equal("rbd", status.GetProperty("pool").GetString());
        Assert.Equal(10737418240L, status.GetProperty("sizeBytes").GetInt64());
        Assert.Equal(2560, status.GetProperty("objects").GetInt32());
        Assert.Equal(JsonValueKind.False, status.GetProperty("readOnly").ValueKind);
        Assert.Equal(0.25, status.GetProperty("usedRatio").GetDouble());
        Assert.Equal("2026-05-01T10:00:00Z", status.GetProperty("lastMounted").GetString());
        Assert.Equal("Ordinal", status.GetProperty("mapper").GetString());
    }

    [Fact]
    public async Task List_SomeMounted_ListsNamesAndOnlyKnownMountpoints()
    {
        Driver.ListResult = [new VolumeSummary("a", "/mnt/volumes/a"), new VolumeSummary("b", null)];

        var answer = await plugin.Client.SendAsync(Routes.List, "{}");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Volumes":[{"Name":"a","Mountpoint":"/mnt/volumes/a"},{"Name":"b"}],"Err":""}""", answer.Body);
    }

    [Fact]
    public async Task List_EmptyBody_TakenAsEmptyObject()
    {
        var answer = await plugin.Client.SendAsync(Routes.List, null);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"Volumes":[],"Err":""}""", answer.Body);
    }

    [Fact]
    public async Task Mount_LowercaseFieldsAndUnknownField_AcceptedLikeGo()
    {
        // Go's encoding/json matches field names case-insensitively and ignores unknown fields.
        var answer = await plugin.Client.SendAsync(Routes.Mount, $$"""{"name":"db1","id":"{{MountId}}","Future":1}""");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(new FakeVolumeDriver.Call("Mount", "db1", MountId), Assert.Single(Driver.Calls));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plugin.moby.localhost")]
    public async Task Get_RawRequestAsDockerdWithAnyHost_Answers200(string host)
    {
        Driver.GetResult = new VolumeInfo("db1", null, null, new Dictionary<string, object>());

        var (statusLine, body) = await DockerWire.SendAsDockerdAsync(plugin.SocketPath, host, Routes.Get, """{"Name":"db1"}""");

        Assert.Equal("HTTP/1.1 200 OK", statusLine);
        Assert.Equal("""{"Volume":{"Name":"db1","Status":{}},"Err":""}""", body);
    }

    [Fact]
    public async Task Mount_Request_DriverGetsTheConnectionsToken()
    {
        await plugin.Client.SendAsync(Routes.Mount, $$"""{"Name":"db1","ID":"{{MountId}}"}""");

        Assert.True(Driver.LastToken.CanBeCanceled);
    }
}
