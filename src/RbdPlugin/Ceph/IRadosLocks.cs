namespace RbdPlugin.Ceph;

/// <summary>
/// Expiring exclusive locks on RADOS objects (cls_lock): the building block of ownership leases. The OSD drops a
/// lock once its duration has passed without renewal, so a dead holder never strands it.
/// </summary>
internal interface IRadosLocks
{
    /// <summary>
    /// Takes (<see cref="LockMode.Acquire"/>) or extends (<see cref="LockMode.Renew"/>) an exclusive lock on the
    /// object that the OSD drops after <paramref name="duration"/> without renewal; the object is created when
    /// missing. True when this connection holds the lock afterwards; false when another (client, cookie) holds it,
    /// or, on renew, when ours expired or was broken.
    /// </summary>
    Task<bool> LockExclusiveAsync(RadosObject obj, string lockName, string cookie, string description, TimeSpan duration,
        LockMode mode, CancellationToken ct);

    /// <summary>
    /// <see cref="LockExclusiveAsync"/> as one attempt on the caller's thread, without retries: for the lease
    /// renewer's own threads, which must never wait for a thread pool that blocking native calls may have starved
    /// (the next renewal is the retry). Blocks for at most librados's op timeout.
    /// </summary>
    bool LockExclusiveNow(RadosObject obj, string lockName, string cookie, string description, TimeSpan duration, LockMode mode);

    /// <summary>Current holders of the lock (expired ones are not listed); empty when the object does not exist.</summary>
    Task<IReadOnlyList<Locker>> ListLockersAsync(RadosObject obj, string lockName, CancellationToken ct);

    /// <summary>Removes another client's hold on the lock. Idempotent: a holder already gone is success.</summary>
    Task BreakLockAsync(RadosObject obj, string lockName, Locker locker, CancellationToken ct);

    /// <summary>Releases this connection's hold on the lock. Idempotent.</summary>
    Task UnlockAsync(RadosObject obj, string lockName, string cookie, CancellationToken ct);
}
