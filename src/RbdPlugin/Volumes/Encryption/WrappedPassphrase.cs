using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// An encrypted volume's LUKS passphrase as its image's metadata holds it (key <see cref="MetadataKey"/>): 32 random
/// bytes sealed with AES-256-GCM under the host's key-encryption key. The associated data binds it to the volume
/// (version, key id, pool, namespace, image name): moved to another volume's image, or with any byte of it changed,
/// it does not open. Read back from Ceph, so nothing in it is trusted until the tag checks out (invariant 9).
/// </summary>
internal sealed record WrappedPassphrase(int Version, string Kid, string Nonce, string Ciphertext, string Tag)
{
    public const string MetadataKey = "rbd-plugin.luks";
    public const int CurrentVersion = 1;
    public const int PassphraseLength = 32;

    /// <summary>A new random passphrase for <paramref name="image"/>, wrapped under <paramref name="kek"/>.</summary>
    public static WrappedPassphrase New(ImageRef image, KeyEncryptionKey kek)
    {
        var passphrase = RandomNumberGenerator.GetBytes(PassphraseLength);
        try
        {
            return Wrap(passphrase, image, kek);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    public static WrappedPassphrase Wrap(ReadOnlySpan<byte> passphrase, ImageRef image, KeyEncryptionKey kek)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(kek);
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var ciphertext = new byte[passphrase.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using var aes = new AesGcm(kek.Bytes, tag.Length);
        aes.Encrypt(nonce, passphrase, ciphertext, tag, AssociatedData(CurrentVersion, kek.Kid, image));
        return new WrappedPassphrase(CurrentVersion, kek.Kid, Convert.ToBase64String(nonce), Convert.ToBase64String(ciphertext), Convert.ToBase64String(tag));
    }

    /// <summary>
    /// The passphrase (the caller zeroes it after use). Throws <see cref="VolumeException"/> saying which: another
    /// key-encryption key (the key id differs), or damaged or not this volume's (the tag does not check out).
    /// </summary>
    public byte[] Unwrap(ImageRef image, KeyEncryptionKey kek, string volume)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(kek);
        if (Version != CurrentVersion)
        {
            throw Damaged(volume, $"its wrapped key has version {Version}, this plugin knows {CurrentVersion}");
        }

        if (!string.Equals(Kid, kek.Kid, StringComparison.Ordinal))
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {volume}: this host's EncryptionKeyFile (key id {kek.Kid}) is not the key the volume was wrapped with (key id {StoredRecord.Quote(Kid)}): " +
                "install the key file the other hosts use, or run `rbd-plugin key rotate` where the old key is");
        }

        byte[] nonce, ciphertext, tag;
        try
        {
            (nonce, ciphertext, tag) = (Convert.FromBase64String(Nonce), Convert.FromBase64String(Ciphertext), Convert.FromBase64String(Tag));
        }
        catch (Exception e) when (e is FormatException or ArgumentNullException)
        {
            throw Damaged(volume, "its wrapped key is not base64");
        }

        if (nonce.Length != AesGcm.NonceByteSizes.MaxSize || tag.Length != AesGcm.TagByteSizes.MaxSize || ciphertext.Length != PassphraseLength)
        {
            throw Damaged(volume, "its wrapped key has the wrong lengths");
        }

        var passphrase = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(kek.Bytes, tag.Length);
            aes.Decrypt(nonce, ciphertext, tag, passphrase, AssociatedData(Version, Kid, image));
            return passphrase;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(passphrase);
            throw Damaged(volume, $"its wrapped key does not open with this host's key (id {kek.Kid}), although the key ids match: it was changed, or copied from another volume's image");
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, WrappedPassphraseJsonContext.Default.WrappedPassphrase);

    /// <summary>Parses the metadata value; null when it is not JSON of this shape.</summary>
    public static WrappedPassphrase? FromJson(string json)
    {
        try
        {
            var wrapped = JsonSerializer.Deserialize(json, WrappedPassphraseJsonContext.Default.WrappedPassphrase);
            return wrapped is { Kid: not null, Nonce: not null, Ciphertext: not null, Tag: not null } ? wrapped : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>"rbd-plugin.luks/1" NUL kid NUL pool NUL namespace NUL name: no field can run into the next (none holds a NUL).</summary>
    internal static byte[] AssociatedData(int version, string kid, ImageRef image) =>
        Encoding.UTF8.GetBytes($"{MetadataKey}/{version}\0{kid}\0{image.Pool}\0{image.Namespace}\0{image.Name}");

    private static VolumeException Damaged(string volume, string why) =>
        new(VolumeErrorKind.Conflict, $"volume {volume}: {why} ({MetadataKey} in its image metadata); refusing to use it");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(WrappedPassphrase))]
internal sealed partial class WrappedPassphraseJsonContext : JsonSerializerContext;
