namespace RbdPlugin.Node;

/// <summary>
/// LUKS2 over a mapped block device through dm-crypt (<c>cryptsetup</c>). Every passphrase goes to cryptsetup on
/// its standard input (<c>--key-file=-</c>), never in its arguments or environment, and is never logged.
/// </summary>
internal interface ICryptDevices
{
    /// <summary>Whether the device starts with a LUKS header (<c>cryptsetup isLuks</c>).</summary>
    Task<bool> IsLuksAsync(string device, CancellationToken ct);

    /// <summary>Writes a new LUKS2 header with the passphrase in its one key slot. Only ever on a blank device: the
    /// caller checked.</summary>
    Task FormatAsync(string device, ReadOnlyMemory<byte> passphrase, CancellationToken ct);

    /// <summary>Opens the LUKS device as /dev/mapper/<paramref name="name"/> and returns that path. Idempotent: the
    /// name already open over this device is success; over another device it is an error.</summary>
    Task<string> OpenAsync(string device, string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct);

    /// <summary>Closes /dev/mapper/<paramref name="name"/>. Idempotent: not open is success. <paramref name="deferred"/>:
    /// removed when its last user lets go (after a lazy unmount of a volume this host lost).</summary>
    Task CloseAsync(string name, bool deferred, CancellationToken ct);

    /// <summary>Makes the open device follow its (grown) backing device (<c>cryptsetup resize</c>).</summary>
    Task ResizeAsync(string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct);

    /// <summary>The crypt devices open on this kernel whose name starts with <paramref name="prefix"/>, with the
    /// device each one is over (for reconciliation at start).</summary>
    IReadOnlyList<CryptMapping> ListOpen(string prefix);
}

/// <summary>An open crypt device: its dm name and the block device under it ("/dev/rbd0").</summary>
internal sealed record CryptMapping(string Name, string BackingDevice)
{
    public string Path => CryptSetup.MapperPath(Name);
}
