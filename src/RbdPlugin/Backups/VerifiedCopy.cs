using System.Security.Cryptography;

namespace RbdPlugin.Backups;

/// <summary>
/// Copies a backup's data file to <c>rbd import-diff</c> while checking it is still the file that was verified, so a
/// restore imports exactly the bytes it verified even if the file is changed or swapped after the verification (a
/// backup directory is anybody's who can write it). The last block is held back until the length and SHA-256 of
/// everything read match the manifest: a changed file never reaches the diff's end record, so import-diff never
/// completes it.
/// </summary>
internal static class VerifiedCopy
{
    private const int BlockSize = 1 << 20;

    /// <returns>Null when exactly the expected bytes were read and all were written; otherwise what was wrong, and
    /// then the last block (at least) was not written.</returns>
    /// <remarks>A failed read is a problem returned; a failed write (the program died) is thrown.</remarks>
    public static async Task<string?> CopyAsync(Stream source, Stream destination, long bytes, string sha256, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reading = new byte[BlockSize];
        var held = new byte[BlockSize];
        var heldCount = 0;
        long total = 0;
        while (true)
        {
            int read;
            try
            {
                read = await source.ReadAsync(reading, ct);
            }
            catch (IOException e)
            {
                return $"it could not be read ({e.Message})";
            }

            if (read == 0)
            {
                break;
            }

            total += read;
            if (total > bytes)
            {
                return $"it is now longer than the {bytes} bytes verified";
            }

            hash.AppendData(reading, 0, read);
            if (heldCount > 0)
            {
                await destination.WriteAsync(held.AsMemory(0, heldCount), ct);
            }

            (reading, held, heldCount) = (held, reading, read);
        }

        if (total != bytes)
        {
            return $"it now has {total} bytes, not the {bytes} verified";
        }

        if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), sha256, StringComparison.OrdinalIgnoreCase))
        {
            return "its SHA-256 no longer matches the manifest";
        }

        await destination.WriteAsync(held.AsMemory(0, heldCount), ct);
        await destination.FlushAsync(ct);
        return null;
    }
}
