using System.Security.Cryptography;
using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>One encrypted volume in <c>key rotate</c>: "rewrapped" (now under the new key), "current" (it was
/// already: a second run skips it), or "failed" (<see cref="Error"/> says why; nothing was written to it).</summary>
internal sealed record KeyRotatedVolume(string Name, string Result, string? Kid, string? Error);

/// <summary><c>key rotate</c>: the new key's id and every encrypted volume's outcome.</summary>
internal sealed record KeyRotateResult(string NewKid, IReadOnlyList<KeyRotatedVolume> Volumes)
{
    public bool AllDone => Volumes.All(v => v.Result != KeyOperations.Failed);
}

/// <summary><c>key generate</c>: where the new key file is and its id.</summary>
internal sealed record KeyGenerated(string Path, string Kid);

/// <summary>
/// What <c>rbd-plugin key rotate</c> does: every encrypted volume's passphrase unwrapped with this host's
/// EncryptionKeyFile and wrapped again under the new key, one metadata write per image. The LUKS headers and the
/// data are not touched: the passphrase stays the same, only its wrapping changes. Idempotent.
/// </summary>
internal sealed class KeyOperations(VolumeCatalog catalog, VolumeKeys keys, ICephImages images)
{
    public const string Rewrapped = "rewrapped";
    public const string Current = "current";
    public const string Failed = "failed";

    public async Task<KeyRotateResult> RotateAsync(string newKeyFile, CancellationToken ct)
    {
        KeyEncryptionKey next;
        try
        {
            next = KeyEncryptionKey.Load(newKeyFile, "--new-key-file");
        }
        catch (KeyFileException e)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, e.Message, e);
        }

        using (next)
        {
            using var current = keys.LoadKek(null);
            var records = await CephErrors.Guard("list volumes", () => catalog.ListAsync(ct));
            var results = new List<KeyRotatedVolume>();
            foreach (var record in records.Where(r => r.Spec.Encrypted).OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                results.Add(await RotateOneAsync(record, current, next, ct));
            }

            return new KeyRotateResult(next.Kid, results);
        }
    }

    private async Task<KeyRotatedVolume> RotateOneAsync(VolumeRecord record, KeyEncryptionKey current, KeyEncryptionKey next, CancellationToken ct)
    {
        try
        {
            var wrapped = await keys.ReadAsync(record, ct);
            if (wrapped.Kid == next.Kid)
            {
                CryptographicOperations.ZeroMemory(wrapped.Unwrap(record.Image, next, record.Name)); // proves it opens
                return new KeyRotatedVolume(record.Name, Current, next.Kid, null);
            }

            var passphrase = wrapped.Unwrap(record.Image, current, record.Name);
            try
            {
                var rewrapped = WrappedPassphrase.Wrap(passphrase, record.Image, next);
                await CephErrors.Guard($"volume {record.Name}: write {WrappedPassphrase.MetadataKey}",
                    () => images.SetImageMetadataAsync(record.Image, WrappedPassphrase.MetadataKey, rewrapped.ToJson(), ct));
                return new KeyRotatedVolume(record.Name, Rewrapped, next.Kid, null);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(passphrase);
            }
        }
        catch (VolumeException e)
        {
            return new KeyRotatedVolume(record.Name, Failed, null, e.Message);
        }
    }
}
