namespace RbdPlugin.Ceph;

/// <summary>What a stat of an image returns: its size, features, and the metadata keys asked for.</summary>
internal sealed record ImageInfo(ImageRef Image, ulong SizeBytes, ulong Features, IReadOnlyDictionary<string, string> Metadata);
