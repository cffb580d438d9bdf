namespace RbdPlugin.Node;

/// <summary>
/// <see cref="ICryptDevices"/> with cryptsetup (Debian's cryptsetup-bin) and the kernel's sysfs. One code path for
/// krbd and rbd-nbd: librbd's own LUKS support (<c>rbd-nbd --encryption-format</c>) would serve rbd-nbd only, since
/// the kernel client has none.
/// </summary>
internal sealed class CryptSetup(ICommandRunner runner, string sysBlock = "/sys/block") : ICryptDevices
{
    /// <summary>cryptsetup's exit code for "No key available with this passphrase".</summary>
    public const int WrongPassphraseExit = 2;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string MapperPath(string name) => "/dev/mapper/" + name;

    public async Task<bool> IsLuksAsync(string device, CancellationToken ct)
    {
        // cryptsetup isLuks DEVICE   (0: a LUKS header; 1: none, sometimes saying "Device ... is not compatible";
        // anything else, e.g. 4 for a device that cannot be opened, is an error, never "not LUKS")
        var result = await runner.TryRunAsync("cryptsetup", ["isLuks", device], ct);
        return result.ExitCode switch
        {
            0 => true,
            1 => false,
            _ => throw HostCommandException.FromExit("cryptsetup", ["isLuks", device], result),
        };
    }

    public Task FormatAsync(string device, ReadOnlyMemory<byte> passphrase, CancellationToken ct) =>
        // cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file=- DEVICE
        // The passphrase is 32 random bytes, not something a person chose: a slow key-derivation function (LUKS2's
        // default argon2id: up to 1 GiB of memory and seconds of CPU at every open) adds nothing to 256 bits of
        // entropy, so the cheapest PBKDF2 cryptsetup accepts is used.
        runner.RunWithInputAsync("cryptsetup",
            ["luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file=-", device],
            Writer(passphrase), ct, Timeout);

    public async Task<string> OpenAsync(string device, string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct)
    {
        if (ListOpen(name).FirstOrDefault(m => m.Name == name) is { } open)
        {
            return open.BackingDevice == device
                ? open.Path
                : throw new HostCommandException($"{MapperPath(name)} is already open over {open.BackingDevice}, not {device}: close it (`cryptsetup close {name}`) and mount again");
        }

        // cryptsetup open --type luks2 --key-file=- DEVICE NAME
        string[] args = ["open", "--type", "luks2", "--key-file=-", device, name];
        try
        {
            await runner.RunWithInputAsync("cryptsetup", args, Writer(passphrase), ct, Timeout);
        }
        catch (HostCommandException e) when (e.ExitCode == WrongPassphraseExit)
        {
            throw new HostCommandException(e.CommandLine, e.ExitCode, e.Stderr,
                $"the LUKS header on {device} does not open with the volume's passphrase (`{e.CommandLine}` exited {WrongPassphraseExit}: {e.Stderr}): its header or its wrapped key was replaced", e);
        }

        return MapperPath(name);
    }

    public async Task CloseAsync(string name, bool deferred, CancellationToken ct)
    {
        if (!ListOpen(name).Any(m => m.Name == name))
        {
            return; // not open: done
        }

        // cryptsetup close [--deferred] NAME
        string[] args = deferred ? ["close", "--deferred", name] : ["close", name];
        await runner.RunAsync("cryptsetup", args, ct, timeout: Timeout);
    }

    public Task ResizeAsync(string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct) =>
        // cryptsetup resize --key-file=- NAME   (LUKS2 keeps its volume key in the kernel keyring: resize asks for it)
        runner.RunWithInputAsync("cryptsetup", ["resize", "--key-file=-", name], Writer(passphrase), ct, Timeout);

    public IReadOnlyList<CryptMapping> ListOpen(string prefix)
    {
        var found = new List<CryptMapping>();
        if (!Directory.Exists(sysBlock))
        {
            return found;
        }

        foreach (var dm in Directory.EnumerateDirectories(sysBlock, "dm-*"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(dm, "dm", "name")).Trim();
                var uuid = File.ReadAllText(Path.Combine(dm, "dm", "uuid")).Trim();
                if (!name.StartsWith(prefix, StringComparison.Ordinal) || !uuid.StartsWith("CRYPT-", StringComparison.Ordinal))
                {
                    continue;
                }

                var slave = Directory.EnumerateFileSystemEntries(Path.Combine(dm, "slaves")).Select(Path.GetFileName).FirstOrDefault();
                found.Add(new CryptMapping(name, slave is null ? "" : "/dev/" + slave));
            }
            catch (IOException)
            {
                // Removed while we looked: not open any more.
            }
        }

        return found;
    }

    private static Func<Stream, CancellationToken, Task> Writer(ReadOnlyMemory<byte> passphrase) =>
        async (stdin, ct) => await stdin.WriteAsync(passphrase, ct);
}
