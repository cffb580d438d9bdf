namespace RbdPlugin.Ceph;

/// <summary>An image in a pool's RBD trash: when it may be purged without force, and when it was moved there.</summary>
internal sealed record TrashEntry(string Pool, string Namespace, string Id, string Name, DateTimeOffset DeferredUntil, DateTimeOffset DeletedAt);
