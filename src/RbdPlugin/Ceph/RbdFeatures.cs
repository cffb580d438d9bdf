namespace RbdPlugin.Ceph;

/// <summary>RBD feature bits and names, as in rbd/features.h.</summary>
internal static class RbdFeatures
{
    public const ulong Layering = 1UL << 0;
    public const ulong StripingV2 = 1UL << 1;
    public const ulong ExclusiveLock = 1UL << 2;
    public const ulong ObjectMap = 1UL << 3;
    public const ulong FastDiff = 1UL << 4;
    public const ulong DeepFlatten = 1UL << 5;
    public const ulong Journaling = 1UL << 6;
    public const ulong DataPool = 1UL << 7;
    public const ulong Operations = 1UL << 8;
    public const ulong Migrating = 1UL << 9;
    public const ulong NonPrimary = 1UL << 10;

    /// <summary>The names users may give in <c>-o features=</c>, as the rbd CLI spells them.</summary>
    public static readonly IReadOnlyDictionary<string, ulong> ByName = new Dictionary<string, ulong>(StringComparer.Ordinal)
    {
        ["layering"] = Layering,
        ["striping"] = StripingV2,
        ["exclusive-lock"] = ExclusiveLock,
        ["object-map"] = ObjectMap,
        ["fast-diff"] = FastDiff,
        ["deep-flatten"] = DeepFlatten,
        ["journaling"] = Journaling,
    };

    /// <summary>Names of the bits set in <paramref name="features"/>, in bit order.</summary>
    public static IEnumerable<string> Names(ulong features) =>
        ByName.Where(kv => (features & kv.Value) != 0).OrderBy(kv => kv.Value).Select(kv => kv.Key);
}
