using System.Text.Json;
using System.Text.Json.Serialization;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>
/// What one backup is, written next to its data as <c>ID.json</c>, last: its presence means the data was complete,
/// fsynced and renamed into place. Everything a restore needs is here: the chain link (<see cref="ParentId"/>), the
/// snapshot the data ends at, and the volume's options so the restored volume is the same kind of volume.
/// </summary>
/// <param name="Schema">Format version (<see cref="CurrentSchema"/>); a newer one is refused, not guessed at.</param>
/// <param name="ParentId">The backup this one is an increment on; null for a full backup (the root of a chain).</param>
/// <param name="Snapshot">The image snapshot the data ends at (the diff's end snapshot).</param>
/// <param name="Image">pool/[namespace/]image the data came from.</param>
/// <param name="ImageSizeBytes">The image's size at the snapshot: the size of the restored volume.</param>
/// <param name="VolumeOptions">The volume's creation options (fstype, features, object size, mkfs/mount options...).</param>
/// <param name="Files">The data files, applied in order with <c>rbd import-diff</c>.</param>
/// <param name="WrappedKey">An encrypted volume's LUKS passphrase as its image held it (wrapped under the key-encryption
/// key, bound to <paramref name="Image"/>): the data is ciphertext that opens with nothing else. Null for a plain volume.</param>
internal sealed record BackupManifest(
    int Schema,
    string Id,
    string Volume,
    DateTimeOffset CreatedAt,
    string? ParentId,
    string Snapshot,
    string Image,
    ulong ImageSizeBytes,
    VolumeSpec VolumeOptions,
    IReadOnlyList<BackupFile> Files,
    WrappedPassphrase? WrappedKey = null)
{
    public const int CurrentSchema = 1;

    [JsonIgnore]
    public string Kind => ParentId is null ? "full" : "incremental";

    [JsonIgnore]
    public long Bytes => Files.Sum(f => f.Bytes);

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, BackupManifestJsonContext.Default.BackupManifest);

    /// <summary>Parses a manifest; throws <see cref="FormatException"/> saying what is wrong with it.</summary>
    public static BackupManifest Parse(ReadOnlySpan<byte> json)
    {
        int? schema;
        try
        {
            schema = JsonDocument.Parse(json.ToArray()).RootElement.TryGetProperty("schema", out var s) && s.TryGetInt32(out var v) ? v : null;
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON ({e.Message})", e);
        }

        if (schema != CurrentSchema)
        {
            throw new FormatException(schema is null
                ? "no \"schema\" field: not an rbd-plugin backup manifest"
                : $"schema {schema} is not {CurrentSchema}, the one this rbd-plugin reads; use the rbd-plugin version that wrote it");
        }

        try
        {
            return JsonSerializer.Deserialize(json, BackupManifestJsonContext.Default.BackupManifest)
                   ?? throw new FormatException("null manifest");
        }
        catch (JsonException e)
        {
            throw new FormatException($"missing or malformed field ({e.Message})", e);
        }
    }
}

/// <summary>One data file of a backup: a plain file name in the volume's backup directory, its length and SHA-256 (hex).</summary>
internal sealed record BackupFile(string Name, long Bytes, string Sha256);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(BackupManifest))]
internal sealed partial class BackupManifestJsonContext : JsonSerializerContext;
