namespace RbdPlugin.Ceph;

/// <summary>One holder of a RADOS object lock, as the OSD reports it.</summary>
/// <param name="Client">The holder's entity, e.g. "client.4123" (what rados_break_lock needs).</param>
/// <param name="Cookie">The cookie the holder locked with.</param>
/// <param name="Address">The holder's address, e.g. "127.0.0.1:0/3141592" (what a fence blocklists).</param>
internal sealed record Locker(string Client, string Cookie, string Address);

/// <summary>How <see cref="IRadosLocks.LockExclusiveAsync"/> treats a lock that exists already.</summary>
internal enum LockMode
{
    /// <summary>Take the lock if free or expired; held by this (client, cookie) counts as taken.</summary>
    Acquire,
    /// <summary>Extend a lock this (client, cookie) still holds; never takes a free one.</summary>
    Renew,
}
