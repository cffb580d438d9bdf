using System.Text;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>Talks to a plugin over its unix socket the way dockerd does: POST, no Content-Type, Docker's Accept.</summary>
internal sealed class PluginClient(string socketPath) : IDisposable
{
    private readonly HttpClient _http = Protocol.PluginServer.UnixClient(socketPath);

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, string? json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Accept.ParseAdd("application/vnd.docker.plugins.v1.2+json");
        if (json is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json)); // no Content-Type, like dockerd
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Posts and returns the body; throws with the Err when the plugin reported one.</summary>
    public async Task<JsonElement> CallAsync(string verb, object request)
    {
        var (status, body) = await PostAsync("/VolumeDriver." + verb, JsonSerializer.Serialize(request));
        var err = body.TryGetProperty("Err", out var e) ? e.GetString() : null;
        if (!string.IsNullOrEmpty(err) || status != 200)
        {
            throw new PluginErrorException(verb, status, err ?? "");
        }

        return body;
    }

    public Task<JsonElement> CreateAsync(string name, Dictionary<string, string>? opts = null) => CallAsync("Create", new { Name = name, Opts = opts });

    public async Task<string> MountAsync(string name, string id) =>
        (await CallAsync("Mount", new { Name = name, ID = id })).GetProperty("Mountpoint").GetString()!;

    public Task<JsonElement> UnmountAsync(string name, string id) => CallAsync("Unmount", new { Name = name, ID = id });

    public Task<JsonElement> RemoveAsync(string name) => CallAsync("Remove", new { Name = name });

    public async Task<JsonElement?> GetAsync(string name)
    {
        var volume = (await CallAsync("Get", new { Name = name })).GetProperty("Volume");
        return volume.ValueKind == JsonValueKind.Object ? volume : null;
    }

    public async Task<IReadOnlyList<string>> ListAsync() =>
        (await CallAsync("List", new { })).GetProperty("Volumes").EnumerateArray().Select(v => v.GetProperty("Name").GetString()!).ToList();

    public void Dispose() => _http.Dispose();
}

internal sealed class PluginErrorException(string verb, int status, string err) : Exception($"VolumeDriver.{verb}: HTTP {status}: {err}")
{
    public string Err { get; } = err;

    public PluginErrorException() : this("", 0, "") { }

    public PluginErrorException(string message) : this("", 0, message) { }

    public PluginErrorException(string message, Exception inner) : this("", 0, message) => _ = inner;
}
