using System.Text.Json;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Backups;

/// <summary>
/// <see cref="IBackupSnapshots"/> with the rbd CLI, as the plugin's client (keyring path, never a key, in argv).
/// A plain <c>rbd snap create</c>: crash-consistent for a mounted volume, nothing is frozen.
/// </summary>
internal sealed class RbdCliBackupSnapshots(ICommandRunner runner, CephClientArgs client) : IBackupSnapshots
{
    public async Task<string?> CreateAsync(string volume, ImageRef image, string snapshot, CancellationToken ct)
    {
        // rbd snap create --no-progress -c CONF --id ID --keyring KEYRING pool/[ns/]image@snap
        await runner.RunAsync("rbd", ["snap", "create", "--no-progress", .. client.ToArgs(), $"{image}@{snapshot}"], ct);
        return null;
    }

    public async Task<bool> ExistsAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        // rbd snap ls --format json -c CONF --id ID --keyring KEYRING pool/[ns/]image
        var result = await runner.TryRunAsync("rbd", ["snap", "ls", "--format", "json", .. client.ToArgs(), image.ToString()], ct);
        if (!result.Succeeded)
        {
            return result.Stderr.Contains("(2) No such file or directory", StringComparison.Ordinal)
                ? false
                : throw HostCommandException.FromExit("rbd", ["snap", "ls", image.ToString()], result);
        }

        return ParseNames(result.Stdout).Contains(snapshot);
    }

    public async Task RemoveAsync(ImageRef image, string snapshot, CancellationToken ct)
    {
        string[] args = ["snap", "rm", "--no-progress", .. client.ToArgs(), $"{image}@{snapshot}"];
        // rbd snap rm --no-progress -c CONF --id ID --keyring KEYRING pool/[ns/]image@snap
        var result = await runner.TryRunAsync("rbd", args, ct);
        if (!result.Succeeded && await ExistsAsync(image, snapshot, ct))
        {
            throw HostCommandException.FromExit("rbd", args, result);
        }
    }

    /// <summary>Snapshot names from <c>rbd snap ls --format json</c>: an array of {id, name, size, ...}.</summary>
    internal static IReadOnlySet<string> ParseNames(string json) =>
        JsonDocument.Parse(json).RootElement.EnumerateArray().Select(s => s.GetProperty("name").GetString()!).ToHashSet(StringComparer.Ordinal);
}
