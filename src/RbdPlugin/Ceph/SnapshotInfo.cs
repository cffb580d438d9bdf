namespace RbdPlugin.Ceph;

/// <summary>A user snapshot of an image: librbd's id, its name, the image size when it was taken, and when.</summary>
internal sealed record SnapshotInfo(ulong Id, string Name, ulong SizeBytes, DateTimeOffset CreatedAt);
