using System.Diagnostics;
using System.Text;
using System.Text.Json;
using RbdPlugin.Cli;

namespace RbdPlugin.Bench;

/// <summary>A plugin answer: HTTP status, the Err field ("" on success), the parsed body, and the round trip in ms.</summary>
internal sealed record Reply(int Status, string Err, JsonElement Body, double Ms)
{
    public bool Ok => Status == 200 && Err.Length == 0;
}

/// <summary>
/// Talks to the plugin's unix socket as dockerd does: POST, no Content-Type, Docker's Accept header, the JSON body
/// followed by a newline (Go's json.Encoder), keep-alive connections reused from a pool (Go's http.Transport).
/// </summary>
internal sealed class PluginClient : IDisposable
{
    public const string Accept = "application/vnd.docker.plugins.v1.2+json";

    private readonly HttpClient _http;

    public PluginClient(string socketPath) => _http = UnixSocketHttpClient.Create(socketPath, TimeSpan.FromMinutes(3));

    /// <summary>Sends one request; connection failures throw (as they would for dockerd).</summary>
    public async Task<Reply> PostAsync(string route, string json, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, route)
        {
            // ByteArrayContent sets no Content-Type: dockerd sends none either.
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json + "\n")),
        };
        request.Headers.TryAddWithoutValidation("Accept", Accept);
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
            return new Reply((int)response.StatusCode, "non-JSON answer: " + Encoding.UTF8.GetString(bytes), default, ms);
        }

        var err = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("Err", out var e) && e.ValueKind == JsonValueKind.String
            ? e.GetString() ?? ""
            : "";
        if ((int)response.StatusCode != 200 && err.Length == 0)
        {
            err = $"HTTP {(int)response.StatusCode}";
        }

        return new Reply((int)response.StatusCode, err, body, ms);
    }

    /// <summary>Like <see cref="PostAsync"/>, but a non-empty Err throws.</summary>
    public async Task<Reply> MustAsync(string route, string json, CancellationToken ct = default)
    {
        var reply = await PostAsync(route, json, ct);
        return reply.Ok ? reply : throw new InvalidOperationException($"{route} {json}: {reply.Err}");
    }

    public Task<Reply> CreateAsync(string name, string? size, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Create", size is null
            ? $$"""{"Name":{{Q(name)}},"Opts":null}"""
            : $$$"""{"Name":{{{Q(name)}}},"Opts":{"size":{{{Q(size)}}}}}""", ct);

    public Task<Reply> GetAsync(string name, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Get", $$"""{"Name":{{Q(name)}}}""", ct);

    public Task<Reply> PathAsync(string name, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Path", $$"""{"Name":{{Q(name)}}}""", ct);

    public Task<Reply> ListAsync(CancellationToken ct = default) => MustAsync("/VolumeDriver.List", "{}", ct);

    public Task<Reply> CapabilitiesAsync(CancellationToken ct = default) => MustAsync("/VolumeDriver.Capabilities", "{}", ct);

    public Task<Reply> RemoveAsync(string name, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Remove", $$"""{"Name":{{Q(name)}}}""", ct);

    public Task<Reply> MountAsync(string name, string id, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Mount", $$"""{"Name":{{Q(name)}},"ID":{{Q(id)}}}""", ct);

    public Task<Reply> UnmountAsync(string name, string id, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Unmount", $$"""{"Name":{{Q(name)}},"ID":{{Q(id)}}}""", ct);

    /// <summary>A mount ID shaped like Docker's: 64 random hex characters.</summary>
    public static string NewMountId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    public void Dispose() => _http.Dispose();

    private static string Q(string s) => JsonSerializer.Serialize(s);
}
