using System.Text.Json;
using RbdPlugin.Protocol;

namespace RbdPlugin.Tests.Protocol;

/// <summary>The pure pieces of the wire format: time format, Status narrowing, Err redaction.</summary>
[Trait("Tier", "Fast")]
public sealed class ProtocolJsonTests
{
    [Theory]
    [InlineData(0, "2026-05-01T10:00:00Z")]
    [InlineData(2, "2026-05-01T10:00:00+02:00")]
    [InlineData(-5, "2026-05-01T10:00:00-05:00")]
    public void Format_Offset_Rfc3339WithOffset(int offsetHours, string expected)
    {
        var value = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.FromHours(offsetHours)).AddTicks(1234567);

        Assert.Equal(expected, Rfc3339DateTimeOffsetConverter.Format(value));
    }

    [Fact]
    public void Serialize_VolumeWithoutCreatedAt_OmitsCreatedAtRatherThanWritingNull()
    {
        // Go decodes CreatedAt into time.Time: null or "" would fail Get and hide the volume.
        var json = JsonSerializer.Serialize(new GetResponse(new WireVolume("db1")), ProtocolJsonContext.Default.GetResponse);

        Assert.Equal("""{"Volume":{"Name":"db1"},"Err":""}""", json);
    }

    [Fact]
    public void ToWire_ScalarsOfEveryKind_NarrowedToRegisteredTypes()
    {
        var status = new Dictionary<string, object>
        {
            ["i"] = 1,
            ["u"] = 2u,
            ["f"] = 0.5f,
            ["nan"] = double.NaN,
            ["guid"] = Guid.Empty,
            ["span"] = TimeSpan.FromSeconds(90),
        };

        var wire = StatusValues.ToWire(status)!;
        var json = JsonSerializer.Serialize(new WireVolume("db1", Status: wire), ProtocolJsonContext.Default.WireVolume);

        Assert.Equal(1L, wire["i"]);
        Assert.Equal(2L, wire["u"]);
        Assert.Equal(0.5, wire["f"]);
        Assert.Equal("NaN", wire["nan"]);
        Assert.Contains("\"guid\":\"00000000-0000-0000-0000-000000000000\"", json, StringComparison.Ordinal);
        Assert.Contains("\"span\":\"00:01:30\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ToWire_LimitsByOptionName_StayAJsonObject()
    {
        var status = new Dictionary<string, object> { ["limits"] = new Dictionary<string, ulong> { ["iops-limit"] = 500, ["write-bps-limit"] = 10UL << 20 } };

        var json = JsonSerializer.Serialize(new WireVolume("db1", Status: StatusValues.ToWire(status)), ProtocolJsonContext.Default.WireVolume);

        Assert.Contains("\"limits\":{\"iops-limit\":500,\"write-bps-limit\":10485760}", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mount failed", "mount failed")]
    [InlineData("secret=hunter2 in conf", "secret=*** in conf")]
    [InlineData("rbd --key abc map", "rbd --key *** map")]
    [InlineData("no such key rbd-plugin.owner", "no such key rbd-plugin.owner")]
    [InlineData("got AQB0ZXN0a2V5Zm9ydGVzdHNvbmx5XzEyMzQ1Ng== back", "got *** back")]
    [InlineData("line one\nline two", "line one line two")]
    public void Redact_Message_MasksCredentialsKeepsTheRest(string message, string expected)
    {
        Assert.Equal(expected, SecretRedactor.Message(message));
    }
}
