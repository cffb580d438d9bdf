using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RbdPlugin.Protocol;

/// <summary>
/// Writes <c>CreatedAt</c> as RFC 3339 with an explicit offset and whole seconds: <c>2026-05-01T10:00:00Z</c> in UTC,
/// <c>2026-05-01T12:00:00+02:00</c> otherwise. Docker decodes it into a Go time.Time; anything it cannot parse makes
/// Get fail, and Docker then treats the volume as nonexistent.
/// </summary>
internal sealed class Rfc3339DateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    public static string Format(DateTimeOffset value)
    {
        // Sub-second precision is noise in `docker volume inspect`; Go would accept it, but nobody reads it.
        var seconds = new DateTimeOffset(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), value.Offset);
        return seconds.Offset == TimeSpan.Zero
            ? seconds.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : seconds.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value)
            ? value
            : throw new JsonException($"CreatedAt \"{text}\" is not an RFC 3339 time");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(Format(value));
    }
}
