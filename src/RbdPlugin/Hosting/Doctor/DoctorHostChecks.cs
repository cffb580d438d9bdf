using RbdPlugin.Node;

namespace RbdPlugin.Hosting;

/// <summary>The doctor's checks of this host's files and tools: keyring, ceph.conf, block-device mappers.</summary>
internal static class DoctorHostChecks
{
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>The key file must exist, be readable, belong to root and be closed to group and others.</summary>
    public static DoctorCheck Keyring(PluginOptions o)
    {
        const string name = "keyring";
        var path = o.Keyring;
        var secure = $"chown root:root {path} && chmod 0600 {path}";
        if (!File.Exists(path))
        {
            return DoctorCheck.Fail(name, $"Keyring={path}: file not found",
                $"write it with `ceph auth get client.{o.CephId} -o {path}` on a monitor host, then `{secure}`; or set Keyring (--keyring, RBD_PLUGIN_KEYRING) to the right file");
        }

        if (!Readable(path))
        {
            return DoctorCheck.Fail(name, $"Keyring={path}: not readable by this user", $"run the plugin as root and `{secure}`");
        }

        var mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path); // the plugin runs on Linux only
        var octal = Convert.ToString((int)mode, 8).PadLeft(4, '0');
        if (FileOwner.UidOf(path) is not 0 and var uid)
        {
            return DoctorCheck.Fail(name, $"Keyring={path}: owned by uid {uid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, not root: its owner can read or replace the key",
                $"`{secure}`");
        }

        return (mode & GroupOrOthers) != 0
            ? DoctorCheck.Fail(name, $"Keyring={path}: mode {octal}: other users can read the Ceph key", $"`chmod 0600 {path}`")
            : DoctorCheck.Pass(name, $"{path}: root-owned, mode {octal}");
    }

    /// <summary>Only when EncryptionKeyFile is set: present, root's, closed to group and others, and a key.</summary>
    public static DoctorCheck EncryptionKeyFile(PluginOptions o)
    {
        const string name = "encryption key";
        try
        {
            using var kek = Volumes.KeyEncryptionKey.Load(o.EncryptionKeyFile);
            return DoctorCheck.Pass(name, $"{o.EncryptionKeyFile}: root-owned, mode 0600 or tighter, key id {kek.Kid}");
        }
        catch (Volumes.KeyFileException e)
        {
            return DoctorCheck.Fail(name, e.Message, "every host that mounts encrypted volumes needs the same key file (docs/encryption.md)");
        }
    }

    public static DoctorCheck CephConf(PluginOptions o)
    {
        const string name = "ceph.conf";
        if (!File.Exists(o.CephConf))
        {
            return DoctorCheck.Fail(name, $"CephConf={o.CephConf}: file not found",
                $"copy the cluster's ceph.conf (at least `mon host`) to {o.CephConf}, or set CephConf (--ceph-conf, RBD_PLUGIN_CEPH_CONF)");
        }

        return Readable(o.CephConf)
            ? DoctorCheck.Pass(name, $"{o.CephConf}: present")
            : DoctorCheck.Fail(name, $"CephConf={o.CephConf}: not readable by this user", $"`chmod 0644 {o.CephConf}` and run the plugin as root");
    }

    /// <summary>Whether the configured mapper works here (as the daemon decides at start), and what each mapper lacks.</summary>
    public static DoctorCheck Mapper(PluginOptions o, IHostProbe host)
    {
        const string name = "mapper";
        var each = string.Join("; ", MapperSelector.Mappers.Select(m => MapperSelector.Missing(m, host) is { Count: > 0 } missing
            ? $"{m}: needs {string.Join(", ", missing)}"
            : $"{m}: ready"));
        try
        {
            var chosen = MapperSelector.Choose(o.Mapper, host);
            var detail = $"Mapper={o.Mapper} uses {chosen} here ({each})";
            return MapperSelector.FallbackAdvice(o.Mapper, chosen, host) is { } advice
                ? DoctorCheck.Warn(name, detail, advice)
                : DoctorCheck.Pass(name, detail);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return DoctorCheck.Fail(name, $"Mapper={o.Mapper} cannot work here ({each})",
                $"{e.Message}; or set Mapper (--mapper) to one that is ready");
        }
    }

    private static bool Readable(string path)
    {
        try
        {
            using var _ = File.OpenRead(path);
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }
}
