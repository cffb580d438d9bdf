using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary><see cref="IRadosLocks"/> over librados's cls_lock calls.</summary>
internal sealed class RadosLocks(CephConnection connection) : IRadosLocks
{
    public Task<bool> LockExclusiveAsync(
        RadosObject obj, string lockName, string cookie, string description, TimeSpan duration,
        LockMode mode, CancellationToken ct)
    {
        var operation = CheckLock(obj, lockName, cookie, description, duration, mode);
        return connection.RunAsync(operation, obj.Pool, obj.Namespace, io => Lock(io, obj.Name, lockName, cookie, description, duration, mode, operation), ct);
    }

    public bool LockExclusiveNow(RadosObject obj, string lockName, string cookie, string description, TimeSpan duration, LockMode mode)
    {
        var operation = CheckLock(obj, lockName, cookie, description, duration, mode);
        return Lock(connection.IoCtx(obj.Pool, obj.Namespace), obj.Name, lockName, cookie, description, duration, mode, operation);
    }

    private static string CheckLock(RadosObject obj, string lockName, string cookie, string description, TimeSpan duration, LockMode mode)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(lockName);
        ArgumentException.ThrowIfNullOrEmpty(cookie);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.FromSeconds(1));
        return $"rados_lock_exclusive {obj} {lockName} {mode.ToString().ToLowerInvariant()}";
    }

    public Task<IReadOnlyList<Locker>> ListLockersAsync(RadosObject obj, string lockName, CancellationToken ct)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(lockName);
        var operation = $"rados_list_lockers {obj} {lockName}";
        return connection.RunAsync<IReadOnlyList<Locker>>(operation, obj.Pool, obj.Namespace, io => Lockers(io, obj.Name, lockName, operation), ct);
    }

    public Task BreakLockAsync(RadosObject obj, string lockName, Locker locker, CancellationToken ct)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(lockName);
        ArgumentNullException.ThrowIfNull(locker);
        var operation = $"rados_break_lock {obj} {lockName} {locker.Client}";
        return connection.RunAsync(operation, obj.Pool, obj.Namespace, io =>
        {
            // Already gone (expired, released, broken by someone else) is what we wanted.
            var rc = Librados.rados_break_lock(io, obj.Name, lockName, locker.Client, locker.Cookie);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }, ct);
    }

    public Task UnlockAsync(RadosObject obj, string lockName, string cookie, CancellationToken ct)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(lockName);
        ArgumentException.ThrowIfNullOrEmpty(cookie);
        var operation = $"rados_unlock {obj} {lockName}";
        return connection.RunAsync(operation, obj.Pool, obj.Namespace, io =>
        {
            var rc = Librados.rados_unlock(io, obj.Name, lockName, cookie);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }, ct);
    }

    private static unsafe bool Lock(
        SafeIoCtxHandle io, string objectName, string lockName, string cookie, string description, TimeSpan duration,
        LockMode mode, string operation)
    {
        var ticks = duration.Ticks;
        var timeout = new TimeVal { Seconds = ticks / TimeSpan.TicksPerSecond, Microseconds = ticks % TimeSpan.TicksPerSecond / 10 };
        var flags = mode == LockMode.Renew ? Librados.LockFlagMustRenew : (byte)0;
        var rc = Librados.rados_lock_exclusive(io, objectName, lockName, cookie, description, &timeout, flags);
        return rc switch
        {
            0 => true,
            // Acquire: we hold it already (same client and cookie). Renew never reports it.
            _ when rc == -Errno.EEXIST => true,
            // Someone else holds it; on renew, ENOENT means ours expired or was broken.
            _ when rc == -Errno.EBUSY || (mode == LockMode.Renew && rc == -Errno.ENOENT) => false,
            _ => NativeCall.Check(rc, operation) >= 0,
        };
    }

    private static unsafe List<Locker> Lockers(SafeIoCtxHandle io, string objectName, string lockName, string operation)
    {
        nuint tagLength = 64, clientsLength = 256, cookiesLength = 256, addrsLength = 256;
        for (var attempt = 0; ; attempt++)
        {
            var tag = new byte[tagLength];
            var clients = new byte[clientsLength];
            var cookies = new byte[cookiesLength];
            var addrs = new byte[addrsLength];
            int exclusive;
            nint rc;
            fixed (byte* t = tag, cl = clients, co = cookies, ad = addrs)
            {
                rc = Librados.rados_list_lockers(io, objectName, lockName, &exclusive, t, &tagLength, cl, &clientsLength,
                    co, &cookiesLength, ad, &addrsLength);
            }

            if (rc == -Errno.ENOENT)
            {
                return []; // no object: nobody ever locked it
            }

            if (rc == -Errno.ERANGE && attempt < 3)
            {
                continue; // the sizes needed were filled in; a locker may have come in between, hence a few tries
            }

            var count = NativeCall.Check(checked((int)rc), operation);
            var clientList = SplitZ(clients, count);
            var cookieList = SplitZ(cookies, count);
            var addrList = SplitZ(addrs, count);
            return Enumerable.Range(0, count).Select(i => new Locker(clientList[i], cookieList[i], PlainAddress(addrList[i]))).ToList();
        }
    }

    /// <summary>
    /// The OSD reports lockers as "v1:127.0.0.1:0/3141592" while watchers and our own rados_getaddrs come without the
    /// protocol tag: strip it so one client has one spelling (and the blocklist gets the form it documents).
    /// </summary>
    internal static string PlainAddress(string address)
    {
        foreach (var prefix in (string[])["v1:", "v2:", "any:"])
        {
            if (address.StartsWith(prefix, StringComparison.Ordinal))
            {
                return address[prefix.Length..];
            }
        }

        return address;
    }

    /// <summary>The first <paramref name="count"/> NUL-terminated strings of a buffer.</summary>
    private static List<string> SplitZ(byte[] buffer, int count)
    {
        var result = new List<string>(count);
        var rest = buffer.AsSpan();
        for (var i = 0; i < count; i++)
        {
            var end = rest.IndexOf((byte)0);
            result.Add(NativeCall.FromBuffer(rest));
            rest = end < 0 ? [] : rest[(end + 1)..];
        }

        return result;
    }
}
