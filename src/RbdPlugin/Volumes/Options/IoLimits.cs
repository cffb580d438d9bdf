using System.Globalization;
using System.Text.Json.Serialization;

namespace RbdPlugin.Volumes;

/// <summary>
/// A volume's I/O limits (noisy-neighbour protection), enforced by librbd in the Ceph client that serves the volume's
/// I/O: rbd-nbd or rbd-fuse. They are stored as the image's own config overrides (metadata
/// <c>conf_rbd_qos_*</c>), which librbd applies when it opens the image and again when they change (an open image
/// refreshes on the header notification a metadata change sends), so a new limit takes effect without a remount.
/// The kernel client does not read them. Null = no limit; librbd's 0 means the same, so 0 is normalised to null.
/// </summary>
/// <param name="Iops">I/O operations per second, reads and writes together.</param>
/// <param name="Bps">Bytes per second, reads and writes together.</param>
internal sealed record IoLimits(ulong? Iops = null, ulong? Bps = null, ulong? ReadIops = null, ulong? WriteIops = null,
    ulong? ReadBps = null, ulong? WriteBps = null)
{
    public static readonly IoLimits None = new();

    /// <summary>One limit: its <c>-o</c> option, librbd's setting, and whether its unit is bytes.</summary>
    internal sealed record Limit(string Option, string Setting, bool Bytes, Func<IoLimits, ulong?> Get, Func<IoLimits, ulong?, IoLimits> Set)
    {
        /// <summary>The image metadata key through which librbd takes the setting for this image only.</summary>
        public string MetadataKey => "conf_" + Setting;
    }

    public static readonly IReadOnlyList<Limit> All =
    [
        new("iops-limit", "rbd_qos_iops_limit", false, l => l.Iops, (l, v) => l with { Iops = v }),
        new("bps-limit", "rbd_qos_bps_limit", true, l => l.Bps, (l, v) => l with { Bps = v }),
        new("read-iops-limit", "rbd_qos_read_iops_limit", false, l => l.ReadIops, (l, v) => l with { ReadIops = v }),
        new("write-iops-limit", "rbd_qos_write_iops_limit", false, l => l.WriteIops, (l, v) => l with { WriteIops = v }),
        new("read-bps-limit", "rbd_qos_read_bps_limit", true, l => l.ReadBps, (l, v) => l with { ReadBps = v }),
        new("write-bps-limit", "rbd_qos_write_bps_limit", true, l => l.WriteBps, (l, v) => l with { WriteBps = v }),
    ];

    /// <summary>The option names, e.g. for the list of valid options.</summary>
    public static IEnumerable<string> Options => All.Select(l => l.Option);

    [JsonIgnore]
    public bool IsNone => this == None;

    /// <summary>
    /// <paramref name="start"/> with the limits named in <paramref name="options"/> changed (other keys are ignored):
    /// a count for the IOPS limits, a size per second for the byte limits (10M = 10 MiB/s); 0 removes the limit.
    /// </summary>
    public static IoLimits Parse(IReadOnlyDictionary<string, string> options, IoLimits start)
    {
        ArgumentNullException.ThrowIfNull(options);
        var limits = start;
        foreach (var limit in All)
        {
            if (options.TryGetValue(limit.Option, out var text))
            {
                limits = limit.Set(limits, ParseValue(limit, text));
            }
        }

        return limits;
    }

    /// <summary>Null for no limits, so records of volumes without limits do not carry an empty object.</summary>
    public IoLimits? OrNull() => IsNone ? null : this;

    /// <summary>Every limit's metadata key and value; null values (no limit) are keys to remove.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Metadata() =>
        All.Select(l => KeyValuePair.Create(l.MetadataKey, l.Get(this)?.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The limits as the options that set them ("iops-limit=500 bps-limit=10M"), or "none".</summary>
    public override string ToString() => Describe(ToOptions());

    /// <summary><see cref="ToOptions"/>'s result as the options that set them, or "none".</summary>
    public static string Describe(IReadOnlyDictionary<string, ulong> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var set = All.Where(l => options.ContainsKey(l.Option)).Select(l => $"{l.Option}={Show(l, options[l.Option])}").ToList();
        return set.Count == 0 ? "none" : string.Join(' ', set);
    }

    /// <summary>The limits set, by option name (IOPS, or bytes per second), for Status and the CLI; empty when none.
    /// A <see cref="Dictionary{TKey,TValue}"/>, the type the JSON contexts know inside Status.</summary>
    public Dictionary<string, ulong> ToOptions() => All.Where(l => l.Get(this) is not null)
        .ToDictionary(l => l.Option, l => l.Get(this)!.Value, StringComparer.Ordinal);

    private static string Show(Limit limit, ulong value) =>
        limit.Bytes ? ByteSize.Format(value) : value.ToString(CultureInfo.InvariantCulture);

    private static ulong? ParseValue(Limit limit, string text)
    {
        if (text.Trim() == "0")
        {
            return null;
        }

        if (limit.Bytes)
        {
            return ByteSize.TryParse(text, out var bytes) ? bytes : throw Invalid(limit, text,
                "give bytes per second, plain or with a unit (10M = 10 MiB/s), or 0 for no limit");
        }

        return ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : throw Invalid(limit, text,
            "give operations per second as a whole number, e.g. 500, or 0 for no limit");
    }

    private static VolumeException Invalid(Limit limit, string text, string how) =>
        new(VolumeErrorKind.InvalidArgument, $"invalid option {limit.Option}={text}: {how}");
}
