using System.Collections.Concurrent;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Fakes;

/// <summary>
/// An <see cref="IVolumeDriver"/> that records every call and answers from a script: fixed results per verb,
/// and an exception to throw for any verb listed in <see cref="Failures"/>.
/// </summary>
internal sealed class FakeVolumeDriver : IVolumeDriver
{
    /// <summary>One call as the driver saw it.</summary>
    internal sealed record Call(string Verb, string? Name = null, string? MountId = null, IReadOnlyDictionary<string, string>? Options = null);

    public ConcurrentQueue<Call> Calls { get; } = new();

    /// <summary>Verb name ("Create", "Mount", ...) → the exception that verb throws.</summary>
    public ConcurrentDictionary<string, Exception> Failures { get; } = new(StringComparer.Ordinal);

    public string MountResult { get; set; } = "/var/lib/rbd-plugin/mounts/db1";

    public string? PathResult { get; set; }

    public VolumeInfo? GetResult { get; set; }

    public IReadOnlyList<VolumeSummary> ListResult { get; set; } = [];

    /// <summary>The token the last call received, to check that the request's token reaches the driver.</summary>
    public CancellationToken LastToken { get; private set; }

    public void Reset()
    {
        Calls.Clear();
        Failures.Clear();
        MountResult = "/var/lib/rbd-plugin/mounts/db1";
        PathResult = null;
        GetResult = null;
        ListResult = [];
    }

    public Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct) =>
        Record(new Call("Create", name, Options: options), () => Task.CompletedTask, ct);

    public Task RemoveAsync(string name, CancellationToken ct) =>
        Record(new Call("Remove", name), () => Task.CompletedTask, ct);

    public Task<string> MountAsync(string name, string mountId, CancellationToken ct) =>
        Record(new Call("Mount", name, mountId), () => Task.FromResult(MountResult), ct);

    public Task UnmountAsync(string name, string mountId, CancellationToken ct) =>
        Record(new Call("Unmount", name, mountId), () => Task.CompletedTask, ct);

    public Task<string?> PathAsync(string name, CancellationToken ct) =>
        Record(new Call("Path", name), () => Task.FromResult(PathResult), ct);

    public Task<VolumeInfo?> GetAsync(string name, CancellationToken ct) =>
        Record(new Call("Get", name), () => Task.FromResult(GetResult), ct);

    public Task<IReadOnlyList<VolumeSummary>> ListAsync(CancellationToken ct) =>
        Record(new Call("List"), () => Task.FromResult(ListResult), ct);

    private T Record<T>(Call call, Func<T> result, CancellationToken ct)
    {
        Calls.Enqueue(call);
        LastToken = ct;
        return Failures.TryGetValue(call.Verb, out var failure) ? throw failure : result();
    }
}
