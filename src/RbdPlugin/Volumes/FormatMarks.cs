using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>Reads and writes the <see cref="FormatMark"/> of a volume's image (one metadata key).</summary>
internal sealed class FormatMarks(ICephImages images, VolumeSettings settings, TimeProvider time)
{
    /// <summary>Whether the image carries the mark, and its fields when they parse (a damaged mark still counts).</summary>
    public async Task<(bool Present, FormatMark? Mark)> ReadAsync(ImageRef image, CancellationToken ct)
    {
        var info = await images.StatImageAsync(image, [FormatMark.Key], ct);
        return info?.Metadata.TryGetValue(FormatMark.Key, out var json) == true ? (true, FormatMark.FromJson(json)) : (false, null);
    }

    /// <summary>Marks the image as carrying a <paramref name="fsType"/> filesystem from now on. Idempotent.</summary>
    public Task WriteAsync(ImageRef image, string fsType, CancellationToken ct) =>
        images.SetImageMetadataAsync(image, FormatMark.Key, new FormatMark(fsType, time.GetUtcNow(), settings.HostId).ToJson(), ct);
}
