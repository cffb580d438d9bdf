namespace RbdPlugin.Ceph;

/// <summary>A client watching an image header (it has the image open, e.g. mapped somewhere).</summary>
/// <param name="Address">The client's address as Ceph reports it, e.g. "127.0.0.1:0/3141592".</param>
/// <param name="Id">The watcher's global id (client.N).</param>
internal sealed record Watcher(string Address, ulong Id);
