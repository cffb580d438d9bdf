using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;
using Reply = RbdPlugin.Tests.Infrastructure.PluginReply;

namespace RbdPlugin.Bench;

/// <summary>
/// The Docker verbs as the benchmark times them, each answer with its round trip, over the tests' dockerd-style
/// <see cref="PluginClient"/> (compiled in from src/RbdPlugin.Tests), so the bench speaks exactly what the tests do.
/// </summary>
internal sealed class TimedPlugin(string socketPath) : IDisposable
{
    private readonly PluginClient _client = new(socketPath);

    /// <summary>Sends one request; connection failures throw (as they would for dockerd).</summary>
    public Task<Reply> PostAsync(string route, string json, CancellationToken ct = default) => _client.PostAsync(route, json, ct);

    /// <summary>Like <see cref="PostAsync"/>, but a non-empty Err throws.</summary>
    public async Task<Reply> MustAsync(string route, string json, CancellationToken ct = default)
    {
        var reply = await _client.PostAsync(route, json, ct);
        return reply.Ok ? reply : throw new InvalidOperationException($"{route} {json}: {reply.Err}");
    }

    public Task<Reply> CreateAsync(string name, string? size, CancellationToken ct = default) =>
        size is null
            ? MustAsync("/VolumeDriver.Create", $$"""{"Name":{{Q(name)}},"Opts":null}""", ct)
            : CreateAsync(name, new Dictionary<string, string> { ["size"] = size }, ct);

    /// <summary>Create with these -o options, as `docker volume create -o K=V ...` sends them.</summary>
    public Task<Reply> CreateAsync(string name, IReadOnlyDictionary<string, string> opts, CancellationToken ct = default) =>
        MustAsync("/VolumeDriver.Create", $$"""{"Name":{{Q(name)}},"Opts":{{JsonSerializer.Serialize(opts)}}}""", ct);

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
    public static string NewMountId() => PluginClient.NewMountId();

    public void Dispose() => _client.Dispose();

    private static string Q(string s) => JsonSerializer.Serialize(s);
}
