using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RbdPlugin.Protocol;

/// <summary>
/// Reads and decodes a request body by hand. dockerd sends no Content-Type, so ASP.NET's JSON binding would answer
/// 415; and a retried request can arrive with an empty body, which must get a JSON Err rather than a crash.
/// </summary>
internal static class RequestBody
{
    /// <summary>The largest body accepted. Docker's requests are a name, an ID and a few options: well under 1 KiB.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>
    /// Decodes the body as <typeparamref name="T"/>. An empty (or all-whitespace) body yields
    /// <paramref name="whenEmpty"/> when the verb accepts one (List, Capabilities), else a failure.
    /// </summary>
    public static async Task<(T? Value, Failure? Failure)> DecodeAsync<T>(
        HttpRequest request, JsonTypeInfo<T> type, T? whenEmpty, string method, CancellationToken ct)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > MaxBytes)
        {
            return (null, TooLarge());
        }

        var body = await ReadAsync(request.BodyReader, ct);
        if (body is null)
        {
            return (null, TooLarge());
        }

        if (IsBlank(body))
        {
            return whenEmpty is not null
                ? (whenEmpty, null)
                : (null, Failure.BadRequest($"empty request body: {method} needs a JSON object such as {Example(method)}"));
        }

        try
        {
            // A JSON null is as good as an empty object: fine where one is (List, Capabilities); elsewhere the
            // Name every other verb needs is missing.
            var value = JsonSerializer.Deserialize(body, type);
            return value is not null ? (value, null)
                : whenEmpty is not null ? (whenEmpty, null)
                : (null, Failure.BadRequest($"missing Name: the {method} request is JSON null, not an object"));
        }
        catch (JsonException e)
        {
            return (null, Failure.BadRequest($"malformed JSON in the {method} request: {e.Message}"));
        }
    }

    /// <summary>The whole body, or null once it grows past <see cref="MaxBytes"/>.</summary>
    private static async Task<byte[]?> ReadAsync(PipeReader reader, CancellationToken ct)
    {
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            if (buffer.Length > MaxBytes)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var bytes = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return bytes;
            }

            // Nothing consumed, everything examined: wait for more.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> body) => body.Trim(" \t\r\n"u8).IsEmpty;

    private static Failure TooLarge() =>
        Failure.BadRequest($"request body too large: the limit is {MaxBytes / 1024} KiB", StatusCodes.Status413PayloadTooLarge);

    private static string Example(string method) => method switch
    {
        "VolumeDriver.Mount" or "VolumeDriver.Unmount" => """{"Name":"db1","ID":"<mount id>"}""",
        "VolumeDriver.Create" => """{"Name":"db1","Opts":{}}""",
        _ => """{"Name":"db1"}""",
    };
}
