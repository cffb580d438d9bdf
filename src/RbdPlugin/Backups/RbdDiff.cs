using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>
/// Moves a backup's data with the rbd CLI: <c>export-diff</c> writes the changes of an image between two
/// snapshots (from its creation for a full backup) to a file, sparse; <c>import-diff</c> applies one (from stdin,
/// checked on its way in) and creates
/// its end snapshot on the target, refusing when the target lacks its start snapshot. No timeout of our own: a
/// big volume takes as long as it takes; Ctrl-C (the token) stops it.
/// </summary>
internal sealed class RbdDiff(ICommandRunner runner, CephClientArgs client)
{
    public Task ExportAsync(ImageRef image, string snapshot, string? fromSnapshot, string path, CancellationToken ct) =>
        // rbd export-diff --no-progress [--from-snap FROM] -c CONF --id ID --keyring KEYRING pool/[ns/]image@snap PATH
        runner.RunAsync("rbd", ExportArgs(image, snapshot, fromSnapshot, path), ct, timeout: Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Applies the data file <paramref name="file"/> at <paramref name="path"/> to the image, fed through stdin by
    /// <see cref="VerifiedCopy"/>: rbd never opens the path itself, and a file that is no longer the verified one
    /// (length, SHA-256) kills the import before its end record and fails with Damaged.
    /// </summary>
    public async Task ImportAsync(string path, BackupFile file, ImageRef image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(file);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        string? changed = null;
        async Task FeedAsync(Stream stdin, CancellationToken c)
        {
            try
            {
                await using var data = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                changed = await VerifiedCopy.CopyAsync(data, stdin, file.Bytes, file.Sha256, c);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                changed = $"it could not be opened ({e.Message})";
            }

            if (changed is not null)
            {
                await abort.CancelAsync(); // kills rbd: it has not seen the end of the diff
            }
        }

        try
        {
            // rbd import-diff --no-progress -c CONF --id ID --keyring KEYRING - pool/[ns/]image   (the diff on stdin)
            await runner.RunWithInputAsync("rbd", ["import-diff", "--no-progress", .. client.ToArgs(), "-", image.ToString()], FeedAsync,
                abort.Token, timeout: Timeout.InfiniteTimeSpan);
        }
        catch (Exception e) when (changed is not null && e is OperationCanceledException or HostCommandException)
        {
            // The import was stopped because of the file; that is the error to report.
        }

        if (changed is not null)
        {
            throw new VolumeException(VolumeErrorKind.Damaged,
                $"backup data file {file.Name} changed after it was verified: {changed}. It was not imported; is something writing to the backup directory?");
        }
    }

    internal IReadOnlyList<string> ExportArgs(ImageRef image, string snapshot, string? fromSnapshot, string path) =>
        ["export-diff", "--no-progress", .. fromSnapshot is null ? Array.Empty<string>() : ["--from-snap", fromSnapshot], .. client.ToArgs(), $"{image}@{snapshot}", path];
}
