namespace RbdPlugin.Ceph;

/// <summary>Everything librbd needs to create one image; null fields take the cluster's defaults.</summary>
/// <param name="Image">Where to create it.</param>
/// <param name="SizeBytes">Size in bytes.</param>
/// <param name="Features">RBD feature bits (see <see cref="RbdFeatures"/>); null = cluster default.</param>
/// <param name="Order">log2 of the object size (22 = 4 MiB); null = cluster default.</param>
/// <param name="DataPool">Separate data pool (erasure-coded pools); null = none.</param>
/// <param name="Metadata">Image metadata written together with the image (our creation record); a null value
/// removes the key (a clone starts with a copy of its parent's metadata).</param>
internal sealed record ImageCreateRequest(
    ImageRef Image,
    ulong SizeBytes,
    ulong? Features,
    int? Order,
    string? DataPool,
    IReadOnlyDictionary<string, string?> Metadata);
