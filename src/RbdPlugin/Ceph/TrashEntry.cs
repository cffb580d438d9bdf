namespace RbdPlugin.Ceph;

/// <summary>An image in a pool's RBD trash.</summary>
internal sealed record TrashEntry(string Pool, string Namespace, string Id, string Name, DateTimeOffset DeferredUntil);
