using System.Text.RegularExpressions;
using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>Turns Docker's <c>-o key=value</c> options into a <see cref="VolumeSpec"/>, or a clear error.</summary>
internal static partial class CreateOptionsParser
{
    public static readonly IReadOnlyList<string> Known =
        ["size", "fstype", "pool", "features", "object-size", "data-pool", "mkfs-options", "mount-options", .. IoLimits.Options, Encrypted, FromSnapshot];

    /// <summary>LUKS2 under the filesystem (see docs/encryption.md).</summary>
    public const string Encrypted = "encrypted";

    /// <summary>The option that makes the volume a clone of a snapshot (see <see cref="ParseClone"/>).</summary>
    public const string FromSnapshot = "from-snapshot";

    /// <summary>The options a clone may also take; the rest come from its source.</summary>
    public static readonly IReadOnlyList<string> CloneKnown = [FromSnapshot, "size", "pool", "fstype", "mount-options", .. IoLimits.Options];

    // The features librbd enables by default (rbd_default_features = 61) — used when the mapper needs a subset.
    private const ulong DefaultFeatures = RbdFeatures.Layering | RbdFeatures.ExclusiveLock | RbdFeatures.ObjectMap
        | RbdFeatures.FastDiff | RbdFeatures.DeepFlatten;

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,100}\z", RegexOptions.CultureInvariant)]
    private static partial Regex PoolName();

    /// <param name="mapper">What the host's mapper can serve (krbd: some features, no I/O limits).</param>
    public static VolumeSpec Parse(IReadOnlyDictionary<string, string>? options, VolumeSettings settings, MapperAbilities mapper)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        options ??= new Dictionary<string, string>();
        foreach (var key in options.Keys)
        {
            if (!Known.Contains(key))
            {
                throw Invalid($"unknown option '{key}'; valid options are: {string.Join(", ", Known)}");
            }
        }

        if (IsClone(options))
        {
            // Callers branch on IsClone first; never let a clone request turn into an empty volume.
            throw Invalid($"option {FromSnapshot} makes a clone: it is parsed by {nameof(ParseClone)}");
        }

        var fsType = Get(options, "fstype") ?? settings.DefaultFsType;
        if (!FsOptions.FsTypes.Contains(fsType))
        {
            throw Invalid($"invalid option fstype={fsType}: use one of {string.Join(", ", FsOptions.FsTypes)}");
        }

        return new VolumeSpec(
            Pool: ParsePool(Get(options, "pool"), settings),
            SizeBytes: ParseSize(Get(options, "size"), settings, fsType),
            FsType: fsType,
            Features: ParseFeatures(Get(options, "features"), mapper.Features),
            ObjectSize: ParseObjectSize(Get(options, "object-size")),
            DataPool: ParseDataPool(Get(options, "data-pool")),
            MkfsOptions: FsOptions.ValidateMkfs(fsType, Get(options, "mkfs-options") ?? ""),
            MountOptions: FsOptions.ValidateMount(fsType, Get(options, "mount-options") ?? ""),
            Limits: ParseLimits(options, IoLimits.None, mapper).OrNull(),
            Encrypted: ParseEncrypted(Get(options, Encrypted), settings, mapper));
    }

    /// <summary>True when the options ask for a clone (<c>from-snapshot=SOURCE@SNAP</c>).</summary>
    public static bool IsClone(IReadOnlyDictionary<string, string>? options) => options?.ContainsKey(FromSnapshot) == true;

    /// <summary>
    /// The options of a clone: the source and snapshot, plus what may differ from the source (a larger size, the
    /// pool, mount options). The image layout and the filesystem come from the source, so options about them are
    /// refused rather than silently ignored; fstype is accepted only to be checked against the source's.
    /// </summary>
    public static CloneRequest ParseClone(IReadOnlyDictionary<string, string> options, VolumeSettings settings, MapperAbilities mapper)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mapper);
        foreach (var key in options.Keys.Where(k => !CloneKnown.Contains(k)))
        {
            throw Invalid(Known.Contains(key)
                ? $"option '{key}' cannot be combined with {FromSnapshot}: a clone has its source's image layout and filesystem; valid with {FromSnapshot}: {string.Join(", ", CloneKnown)}"
                : $"unknown option '{key}'; valid options are: {string.Join(", ", Known)}");
        }

        var (source, snapshot) = SnapshotName.ParseSpec(options[FromSnapshot], $"option {FromSnapshot}");
        var fsType = Get(options, "fstype");
        if (fsType is not null && !FsOptions.FsTypes.Contains(fsType))
        {
            throw Invalid($"invalid option fstype={fsType}: use one of {string.Join(", ", FsOptions.FsTypes)}");
        }

        return new CloneRequest(source, snapshot,
            Get(options, "pool") is { } pool ? ParsePool(pool, settings) : null,
            Get(options, "size") is { } size ? ParseSize(size, settings, fsType ?? "ext4") : null,
            fsType,
            Get(options, "mount-options"),
            LimitOptionsOf(options, mapper));
    }

    /// <summary>
    /// The limits named in <paramref name="options"/> applied to <paramref name="start"/>. Refused on a mapper that
    /// cannot hold them (the kernel client): a limit that is silently not enforced is worse than none.
    /// </summary>
    public static IoLimits ParseLimits(IReadOnlyDictionary<string, string> options, IoLimits start, MapperAbilities mapper)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        var limits = IoLimits.Parse(options, start);
        if (!mapper.IoLimits && !limits.IsNone)
        {
            throw Invalid($"I/O limits ({limits}): {NoLimitsOn(mapper.Mapper)}, or leave them out and limit the containers instead "
                + "(docker run --device-read-iops/--device-write-iops/--device-read-bps/--device-write-bps)");
        }

        return limits;
    }

    private static Dictionary<string, string> LimitOptionsOf(IReadOnlyDictionary<string, string> options, MapperAbilities mapper)
    {
        _ = ParseLimits(options, IoLimits.None, mapper); // checked now: a bad value fails before any work
        return options.Where(o => IoLimits.Options.Contains(o.Key)).ToDictionary(StringComparer.Ordinal);
    }

    /// <summary>
    /// <c>encrypted=true|false</c>. True is refused on a mapper without dm-crypt under it (the fuse mapper) and on a
    /// host without a key-encryption key: the passphrase is made and wrapped at Create.
    /// </summary>
    private static bool ParseEncrypted(string? text, VolumeSettings settings, MapperAbilities mapper)
    {
        switch (text)
        {
            case null or "false":
                return false;
            case "true":
                break;
            default:
                throw Invalid($"invalid option {Encrypted}={text}: use true or false");
        }

        if (!mapper.Encryption)
        {
            throw Invalid($"option {Encrypted}=true: {NoEncryptionOn(mapper.Mapper)}");
        }

        if (string.IsNullOrEmpty(settings.EncryptionKeyFile))
        {
            throw Invalid($"option {Encrypted}=true: this host has no key-encryption key; set EncryptionKeyFile (--encryption-key-file, RBD_PLUGIN_ENCRYPTION_KEY_FILE) to a root-only key file (`rbd-plugin key generate FILE`, docs/encryption.md)");
        }

        return true;
    }

    /// <summary>Why a mapper cannot serve encrypted volumes, and which can.</summary>
    public static string NoEncryptionOn(string mapper) =>
        $"the {mapper} mapper cannot serve encrypted volumes (they are LUKS2 through dm-crypt over a kernel block device): map with krbd or rbd-nbd (setting Mapper)";

    /// <summary>Why a mapper cannot hold I/O limits, and which can.</summary>
    public static string NoLimitsOn(string mapper) =>
        $"the {mapper} mapper cannot enforce them (librbd does; the kernel client does not read its settings): map with rbd-nbd or rbd-fuse (setting Mapper)";

    private static string? Get(IReadOnlyDictionary<string, string> options, string key) =>
        options.TryGetValue(key, out var value) ? value : null;

    private static string ParsePool(string? pool, VolumeSettings settings)
    {
        pool ??= settings.Pool;
        if (!settings.AllowedPools.Contains(pool))
        {
            throw Invalid($"invalid option pool={pool}: this plugin may only use the pools {string.Join(", ", settings.AllowedPools)} (setting AllowedPools)");
        }

        return pool;
    }

    internal static ulong ParseSize(string? text, VolumeSettings settings, string fsType)
    {
        if (text is null)
        {
            return settings.DefaultSizeBytes;
        }

        if (!ByteSize.TryParse(text, out var size))
        {
            throw Invalid($"invalid option size={text}: give a positive size in bytes or with a unit, e.g. 10G, 512MiB, 1T");
        }

        if (size > settings.MaxSizeBytes)
        {
            throw Invalid($"invalid option size={text}: the largest allowed size is {ByteSize.Format(settings.MaxSizeBytes)} (setting MaxSize)");
        }

        // Below these sizes mkfs itself refuses, which the user would only find out at the first mount.
        var minimum = fsType == "xfs" ? 300UL << 20 : 1UL << 20;
        if (size < minimum)
        {
            throw Invalid($"invalid option size={text}: {fsType} needs at least {ByteSize.Format(minimum)}");
        }

        if (size % 512 != 0)
        {
            throw Invalid($"invalid option size={text}: a block device size must be a multiple of 512 bytes");
        }

        return size;
    }

    private static string? ParseFeatures(string? text, ulong? mapperFeatures)
    {
        ulong features = 0;
        if (text is null)
        {
            if (mapperFeatures is null)
            {
                return null;
            }

            // krbd: ask only for what this kernel can map, so the user never meets "rbd: map failed: (6)".
            features = DefaultFeatures & mapperFeatures.Value;
        }
        else
        {
            foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!RbdFeatures.ByName.TryGetValue(name, out var bit))
                {
                    throw Invalid($"invalid option features={text}: unknown feature '{name}'; valid: {string.Join(", ", RbdFeatures.ByName.Keys)}");
                }

                features |= bit;
            }

            if (mapperFeatures is { } supported && (features & ~supported) != 0)
            {
                throw Invalid($"invalid option features={text}: this host's kernel cannot map {string.Join(", ", RbdFeatures.Names(features & ~supported))}; it supports {string.Join(", ", RbdFeatures.Names(supported))}");
            }

            CheckDependencies(text, features);
        }

        return string.Join(',', RbdFeatures.Names(features));
    }

    private static void CheckDependencies(string text, ulong features)
    {
        if ((features & RbdFeatures.ObjectMap) != 0 && (features & RbdFeatures.ExclusiveLock) == 0)
        {
            throw Invalid($"invalid option features={text}: object-map requires exclusive-lock");
        }

        if ((features & RbdFeatures.FastDiff) != 0 && (features & RbdFeatures.ObjectMap) == 0)
        {
            throw Invalid($"invalid option features={text}: fast-diff requires object-map");
        }

        if ((features & RbdFeatures.Journaling) != 0 && (features & RbdFeatures.ExclusiveLock) == 0)
        {
            throw Invalid($"invalid option features={text}: journaling requires exclusive-lock");
        }
    }

    private static ulong? ParseObjectSize(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (!ByteSize.TryParse(text, out var size) || size < 4096 || size > 32UL << 20 || (size & (size - 1)) != 0)
        {
            throw Invalid($"invalid option object-size={text}: use a power of two from 4K to 32M, e.g. 4M");
        }

        return size;
    }

    private static string? ParseDataPool(string? text)
    {
        if (text is not null && !PoolName().IsMatch(text))
        {
            throw Invalid($"invalid option data-pool={text}: a pool name has letters, digits, '_', '.', '-'");
        }

        return text;
    }

    private static VolumeException Invalid(string message) => new(VolumeErrorKind.InvalidArgument, message);
}
