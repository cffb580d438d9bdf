using System.Diagnostics;
using System.Text;
using System.Text.Json;
using RbdPlugin.Operations;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>A plugin answer: HTTP status, the Err field ("" on success), the parsed body, and the round trip in ms.</summary>
internal sealed record PluginReply(int Status, string Err, JsonElement Body, double Ms)
{
    public bool Ok => Status == 200 && Err.Length == 0;

    public void Deconstruct(out int status, out JsonElement body) => (status, body) = (Status, Body);
}

/// <summary>
/// Talks to a plugin over its unix socket the way dockerd does: POST, no Content-Type, Docker's Accept header, the
/// JSON body followed by a newline (Go's json.Encoder), keep-alive connections reused from a pool (Go's
/// http.Transport). The one such client: the tests use it, and bench/ compiles this file in.
/// </summary>
internal sealed class PluginClient(string socketPath) : IPluginCalls, IDisposable
{
    public const string Accept = "application/vnd.docker.plugins.v1.2+json";

    private readonly HttpClient _http = UnixSocketHttpClient.Create(socketPath, TimeSpan.FromMinutes(3));

    /// <summary>A request exactly as dockerd shapes it; a null body is an empty one.</summary>
    public static HttpRequestMessage DockerRequest(string route, string? json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, route)
        {
            // ByteArrayContent sets no Content-Type: dockerd sends none either.
            Content = new ByteArrayContent(json is null ? [] : Encoding.UTF8.GetBytes(json + "\n")),
        };
        request.Headers.TryAddWithoutValidation("Accept", Accept);
        return request;
    }

    /// <summary>Sends one request; connection failures throw (as they would for dockerd).</summary>
    public async Task<PluginReply> PostAsync(string route, string? json, CancellationToken ct = default)
    {
        using var request = DockerRequest(route, json);
        var started = Stopwatch.GetTimestamp();
        using var response = await _http.SendAsync(request, ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        JsonElement body;
        try
        {
            body = bytes.Length == 0 ? default : JsonDocument.Parse(bytes).RootElement.Clone();
        }
        catch (JsonException)
        {
            return new PluginReply((int)response.StatusCode, "non-JSON answer: " + Encoding.UTF8.GetString(bytes), default, ms);
        }

        var err = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("Err", out var e) && e.ValueKind == JsonValueKind.String
            ? e.GetString() ?? ""
            : "";
        if ((int)response.StatusCode != 200 && err.Length == 0)
        {
            err = $"HTTP {(int)response.StatusCode}";
        }

        return new PluginReply((int)response.StatusCode, err, body, ms);
    }

    /// <summary>Posts <c>/VolumeDriver.VERB</c> and returns the answer; throws with the Err when the plugin reported one.</summary>
    public async Task<PluginReply> CallAsync(string verb, string json, CancellationToken ct = default)
    {
        var reply = await PostAsync("/VolumeDriver." + verb, json, ct);
        return reply.Ok ? reply : throw new PluginErrorException(verb, reply.Status, reply.Err);
    }

    public async Task<JsonElement> CallAsync(string verb, object request) => (await CallAsync(verb, JsonSerializer.Serialize(request))).Body;

    public async Task<IReadOnlyList<string>> ListAsync() =>
        (await CallAsync("List", new { })).GetProperty("Volumes").EnumerateArray().Select(v => v.GetProperty("Name").GetString()!).ToList();

    /// <summary>A mount ID shaped like Docker's: 64 random hex characters.</summary>
    public static string NewMountId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    public void Dispose() => _http.Dispose();
}

/// <summary>Whatever can send one Docker verb and return its answer's body (throwing on Err): this host's socket, or a
/// daemon in the Kernel tier's guest. The verbs' requests are written once, in <see cref="PluginCalls"/>.</summary>
internal interface IPluginCalls
{
    Task<JsonElement> CallAsync(string verb, object request);
}

internal static class PluginCalls
{
    public static Task<JsonElement> CreateAsync(this IPluginCalls plugin, string name, Dictionary<string, string>? opts = null) =>
        plugin.CallAsync("Create", new { Name = name, Opts = opts });

    public static async Task<string> MountAsync(this IPluginCalls plugin, string name, string id) =>
        (await plugin.CallAsync("Mount", new { Name = name, ID = id })).GetProperty("Mountpoint").GetString()!;

    public static Task<JsonElement> UnmountAsync(this IPluginCalls plugin, string name, string id) =>
        plugin.CallAsync("Unmount", new { Name = name, ID = id });

    public static Task<JsonElement> RemoveAsync(this IPluginCalls plugin, string name) => plugin.CallAsync("Remove", new { Name = name });

    public static async Task<JsonElement?> GetAsync(this IPluginCalls plugin, string name)
    {
        var volume = (await plugin.CallAsync("Get", new { Name = name })).GetProperty("Volume");
        return volume.ValueKind == JsonValueKind.Object ? volume : null;
    }
}

internal sealed class PluginErrorException(string verb, int status, string err) : Exception($"VolumeDriver.{verb}: HTTP {status}: {err}")
{
    public string Err { get; } = err;

    public PluginErrorException() : this("", 0, "") { }

    public PluginErrorException(string message) : this("", 0, message) { }

    public PluginErrorException(string message, Exception inner) : this("", 0, message) => _ = inner;
}
