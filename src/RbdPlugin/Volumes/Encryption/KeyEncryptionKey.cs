using System.Security.Cryptography;
using System.Text;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// The key-encryption key (KEK) of this host: 32 random bytes, base64 on one line in a root-only file (setting
/// EncryptionKeyFile). It never encrypts data: it wraps each encrypted volume's own LUKS passphrase
/// (<see cref="WrappedPassphrase"/>). <see cref="Kid"/> names it without revealing it, so a volume wrapped under
/// another key is told apart from a damaged one.
/// </summary>
internal sealed class KeyEncryptionKey : IDisposable
{
    public const int Length = 32;

    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _key;

    public KeyEncryptionKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != Length)
        {
            throw new ArgumentException($"a key-encryption key is {Length} bytes, not {key.Length}", nameof(key));
        }

        _key = (byte[])key.Clone();
        Kid = KidOf(_key);
    }

    /// <summary>The first 8 bytes of SHA-256 over a label and the key, as hex: names the key, reveals nothing of it.</summary>
    public string Kid { get; }

    internal ReadOnlySpan<byte> Bytes => _key;

    /// <summary>A new random key.</summary>
    public static KeyEncryptionKey Generate()
    {
        var bytes = RandomNumberGenerator.GetBytes(Length);
        try
        {
            return new KeyEncryptionKey(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>
    /// Reads the key file. Refused (with the setting named and the fix) when it is missing, not root's, readable or
    /// writable by group or others, or not one base64 line of 32 bytes. The message never holds the file's content.
    /// </summary>
    public static KeyEncryptionKey Load(string path, string setting = "EncryptionKeyFile")
    {
        if (ProblemOf(path, setting) is { } problem)
        {
            throw new KeyFileException(problem);
        }

        byte[] text;
        try
        {
            text = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyFileException($"{setting}={path}: cannot be read ({e.GetType().Name}); run as root", e);
        }

        var bytes = new byte[64];
        try
        {
            var trimmed = text.AsSpan().TrimEnd("\r\n"u8);
            if (trimmed.Length > 64 || System.Buffers.Text.Base64.DecodeFromUtf8(trimmed, bytes, out _, out var written) != System.Buffers.OperationStatus.Done
                || written != Length)
            {
                throw new KeyFileException(
                    $"{setting}={path}: not a key-encryption key (one line of base64 holding {Length} bytes); make one with `rbd-plugin key generate {path}`");
            }

            return new KeyEncryptionKey(bytes[..Length]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>Why the key file must not be used (missing, not root's, open to group or others), or null.</summary>
    public static string? ProblemOf(string path, string setting = "EncryptionKeyFile")
    {
        var secure = $"chown root:root {path} && chmod 0600 {path}";
        if (!File.Exists(path))
        {
            return $"{setting}={path}: file not found; make one with `rbd-plugin key generate {path}` (and copy it to every host that mounts encrypted volumes), or set {setting}";
        }

        if (FileOwner.UidOf(path) is not 0 and var uid)
        {
            return $"{setting}={path}: owned by uid {uid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, not root: its owner can read or replace the key; `{secure}`";
        }

        var mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path); // the plugin runs on Linux only
        return (mode & GroupOrOthers) != 0
            ? $"{setting}={path}: mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}: group or other users can read or change the key; `chmod 0600 {path}`"
            : null;
    }

    /// <summary>Writes a new random key to <paramref name="path"/>, mode 0600, never over an existing file.</summary>
    public static string WriteNew(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("key files are root-only files on Linux");
        }

        using var key = Generate();
        var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(key.Bytes) + "\n");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using var file = new FileStream(path, options);
            file.Write(text);
            file.Flush(flushToDisk: true);
            return key.Kid;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);

    private static string KidOf(ReadOnlySpan<byte> key)
    {
        Span<byte> input = stackalloc byte[16 + Length];
        "rbd-plugin.kek.1"u8.CopyTo(input);
        key.CopyTo(input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        CryptographicOperations.ZeroMemory(input);
        return Convert.ToHexStringLower(hash[..8]);
    }
}

/// <summary>The key file cannot be used; the message names the setting and the fix, never the content.</summary>
internal sealed class KeyFileException(string message, Exception? inner = null) : Exception(message, inner);
