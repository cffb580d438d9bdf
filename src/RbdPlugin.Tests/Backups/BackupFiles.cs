using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using RbdPlugin.Backups;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Backups;

/// <summary>Writes backups the way <c>backup create</c> lays them out (rbd diff v1 data + manifest), for the fast tier.</summary>
internal static class BackupFiles
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    public static readonly VolumeSpec Spec = new("rbd", 64UL << 20, "xfs", "layering,exclusive-lock", 1UL << 20, null, "-m crc=1", "noatime");

    /// <summary>An rbd export-diff stream: header records, one write record of <paramref name="payload"/> at offset 0, end.</summary>
    public static byte[] Diff(string? from, string to, ulong size, byte[] payload)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(RbdDiffHeader.Magic));
        void Name(char tag, string name)
        {
            bytes.Add((byte)tag);
            bytes.AddRange(LittleEndian32((uint)name.Length));
            bytes.AddRange(Encoding.UTF8.GetBytes(name));
        }

        if (from is not null)
        {
            Name('f', from);
        }

        Name('t', to);
        bytes.Add((byte)'s');
        bytes.AddRange(LittleEndian64(size));
        bytes.Add((byte)'w');
        bytes.AddRange(LittleEndian64(0));
        bytes.AddRange(LittleEndian64((ulong)payload.Length));
        bytes.AddRange(payload);
        bytes.Add((byte)'e');
        return [.. bytes];
    }

    /// <summary>Writes backup <paramref name="index"/> (an id made from it) of <paramref name="volume"/> under <paramref name="root"/>; returns its id.</summary>
    /// <param name="snapshot">The snapshot the manifest and the diff name as the backup's end; default the plugin's own for the id.</param>
    /// <param name="spec">The volume options the manifest records; default <see cref="Spec"/>.</param>
    /// <param name="wrappedKey">The wrapped passphrase the manifest carries (an encrypted volume's); default none.</param>
    public static string Write(string root, string volume, int index, string? parentId, byte[]? data = null, string? snapshot = null, VolumeSpec? spec = null,
        WrappedPassphrase? wrappedKey = null)
    {
        var id = Id(index);
        var dir = Directory.CreateDirectory(Path.Combine(root, volume)).FullName;
        snapshot ??= BackupId.Snapshot(id);
        data ??= Diff(parentId is null ? null : BackupId.Snapshot(parentId), snapshot, Spec.SizeBytes,
            Encoding.ASCII.GetBytes($"data of backup {index} "));
        var name = id + BackupDirectory.DataSuffix;
        File.WriteAllBytes(Path.Combine(dir, name), data);
        var manifest = new BackupManifest(BackupManifest.CurrentSchema, id, volume, T0.AddMinutes(index), parentId, snapshot,
            $"rbd/{volume}", Spec.SizeBytes, spec ?? Spec, [new BackupFile(name, data.Length, Convert.ToHexStringLower(SHA256.HashData(data)))], wrappedKey);
        File.WriteAllBytes(ManifestPath(root, volume, id), manifest.ToJsonBytes());
        return id;
    }

    /// <summary>A chain of <paramref name="count"/> backups (full, then increments), oldest first.</summary>
    public static List<string> Chain(string root, string volume, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(Write(root, volume, i, ids.LastOrDefault()));
        }

        return ids;
    }

    /// <summary>The names of a volume's backup files, sorted (not the .lock a run leaves).</summary>
    public static string[] Names(string root, string volume) =>
        [.. Directory.EnumerateFiles(Path.Combine(root, volume)).Select(p => Path.GetFileName(p)).Where(f => !f.StartsWith('.')).Order(StringComparer.Ordinal)];

    public static string Id(int index) => $"20261127T10{index:00}00Z-00000{index % 10}";

    public static string DataPath(string root, string volume, string id) => Path.Combine(root, volume, id + BackupDirectory.DataSuffix);

    public static string ManifestPath(string root, string volume, string id) => Path.Combine(root, volume, id + BackupDirectory.ManifestSuffix);

    public static void Truncate(string path, int by)
    {
        using var file = new FileStream(path, FileMode.Open);
        file.SetLength(file.Length - by);
    }

    public static void FlipLastPayloadByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[^2] ^= 0x01; // the last payload byte, before the 'e' end record
        File.WriteAllBytes(path, bytes);
    }

    private static byte[] LittleEndian32(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    private static byte[] LittleEndian64(ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return b;
    }
}
