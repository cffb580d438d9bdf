using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Backups;

/// <summary>
/// Moves a backup's data with the rbd CLI: <c>export-diff</c> writes the changes of an image between two
/// snapshots (from its creation for a full backup) to a file, sparse; <c>import-diff</c> applies one and creates
/// its end snapshot on the target, refusing when the target lacks its start snapshot. No timeout of our own: a
/// big volume takes as long as it takes; Ctrl-C (the token) stops it.
/// </summary>
internal sealed class RbdDiff(ICommandRunner runner, CephClientArgs client)
{
    public Task ExportAsync(ImageRef image, string snapshot, string? fromSnapshot, string path, CancellationToken ct) =>
        // rbd export-diff --no-progress [--from-snap FROM] -c CONF --id ID --keyring KEYRING pool/[ns/]image@snap PATH
        runner.RunAsync("rbd", ExportArgs(image, snapshot, fromSnapshot, path), ct, timeout: Timeout.InfiniteTimeSpan);

    public Task ImportAsync(string path, ImageRef image, CancellationToken ct) =>
        // rbd import-diff --no-progress -c CONF --id ID --keyring KEYRING PATH pool/[ns/]image
        runner.RunAsync("rbd", ["import-diff", "--no-progress", .. client.ToArgs(), path, image.ToString()], ct, timeout: Timeout.InfiniteTimeSpan);

    internal IReadOnlyList<string> ExportArgs(ImageRef image, string snapshot, string? fromSnapshot, string path) =>
        ["export-diff", "--no-progress", .. fromSnapshot is null ? Array.Empty<string>() : ["--from-snap", fromSnapshot], .. client.ToArgs(), $"{image}@{snapshot}", path];
}
