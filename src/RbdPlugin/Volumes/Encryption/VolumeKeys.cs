using System.Security.Cryptography;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// The passphrases of encrypted volumes: made and wrapped at Create, unwrapped for Mount and online resize, rewrapped
/// for a clone (its associated data names the clone) and by key rotation. The key-encryption key is read from
/// EncryptionKeyFile at each use, so replacing the file (after `rbd-plugin key rotate`) needs no restart.
/// </summary>
internal sealed class VolumeKeys(ICephImages images, VolumeSettings settings)
{
    /// <summary>This host's key-encryption key (for <paramref name="volume"/>, or null for all of them); refused
    /// with the setting named when there is none or it is unusable.</summary>
    public KeyEncryptionKey LoadKek(string? volume)
    {
        if (string.IsNullOrEmpty(settings.EncryptionKeyFile))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"{(volume is null ? "encrypted volumes need" : $"volume {volume} is encrypted and needs")} this host's key-encryption key, and there is none: set EncryptionKeyFile (--encryption-key-file, RBD_PLUGIN_ENCRYPTION_KEY_FILE) to the key file the other hosts use (docs/encryption.md)");
        }

        try
        {
            return KeyEncryptionKey.Load(settings.EncryptionKeyFile);
        }
        catch (KeyFileException e)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, volume is null ? e.Message : $"volume {volume}: {e.Message}", e);
        }
    }

    /// <summary>The metadata entry a new encrypted image gets: a fresh random passphrase wrapped for <paramref name="image"/>.</summary>
    public KeyValuePair<string, string?> NewEntry(string volume, ImageRef image)
    {
        using var kek = LoadKek(volume);
        return new(WrappedPassphrase.MetadataKey, WrappedPassphrase.New(image, kek).ToJson());
    }

    /// <summary>The wrapped passphrase in the image's metadata, or a clear error when it is missing or damaged.</summary>
    public async Task<WrappedPassphrase> ReadAsync(VolumeRecord record, CancellationToken ct)
    {
        var info = await CephErrors.Guard($"volume {record.Name}: read {WrappedPassphrase.MetadataKey} of {record.Image}",
            () => images.StatImageAsync(record.Image, [WrappedPassphrase.MetadataKey], ct));
        if (info?.Metadata.TryGetValue(WrappedPassphrase.MetadataKey, out var json) != true)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {record.Name} is encrypted but its image {record.Image} holds no wrapped key ({WrappedPassphrase.MetadataKey}): it cannot be opened; nothing was mapped");
        }

        return WrappedPassphrase.FromJson(json!) ?? throw new VolumeException(VolumeErrorKind.Conflict,
            $"volume {record.Name}: its wrapped key ({WrappedPassphrase.MetadataKey} of {record.Image}) is damaged (not the JSON this plugin writes); nothing was mapped");
    }

    /// <summary>The volume's passphrase; the caller zeroes it (<see cref="CryptographicOperations.ZeroMemory"/>) after use.</summary>
    public async Task<byte[]> UnlockAsync(VolumeRecord record, CancellationToken ct)
    {
        var wrapped = await ReadAsync(record, ct);
        using var kek = LoadKek(record.Name);
        return wrapped.Unwrap(record.Image, kek, record.Name);
    }

    /// <summary>After the image of <paramref name="record"/> was renamed to <paramref name="renamed"/> (a trash restore
    /// under another name): its passphrase wrapped again for the new name, in one metadata write.</summary>
    public async Task RewrapForRenameAsync(VolumeRecord record, ImageRef renamed, CancellationToken ct)
    {
        var wrapped = await ReadAsync(record with { Name = renamed.Name }, ct);
        var json = Rewrap(wrapped, record.Image, renamed, record.Name).ToJson();
        await CephErrors.Guard($"volume {renamed.Name}: write {WrappedPassphrase.MetadataKey}",
            () => images.SetImageMetadataAsync(renamed, WrappedPassphrase.MetadataKey, json, ct));
    }

    /// <summary>The metadata entry of a clone of <paramref name="source"/> named <paramref name="clone"/>: the same
    /// passphrase (the clone's LUKS header is its source's), wrapped for the clone's image.</summary>
    public async Task<KeyValuePair<string, string?>> CloneEntryAsync(VolumeRecord source, ImageRef clone, CancellationToken ct) =>
        new(WrappedPassphrase.MetadataKey, Rewrap(await ReadAsync(source, ct), source.Image, clone, source.Name).ToJson());

    /// <summary>
    /// The passphrase <paramref name="wrapped"/> holds for <paramref name="from"/>, wrapped under this host's key for
    /// <paramref name="to"/> (a renamed, cloned or restored image carries its source's LUKS header). Refused as
    /// <see cref="WrappedPassphrase.Unwrap"/> refuses, naming <paramref name="owner"/>.
    /// </summary>
    public WrappedPassphrase Rewrap(WrappedPassphrase wrapped, ImageRef from, ImageRef to, string owner)
    {
        ArgumentNullException.ThrowIfNull(wrapped);
        using var kek = LoadKek(owner);
        var passphrase = wrapped.Unwrap(from, kek, owner);
        try
        {
            return WrappedPassphrase.Wrap(passphrase, to, kek);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }
}
