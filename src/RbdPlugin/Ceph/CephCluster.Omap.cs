using System.Runtime.InteropServices;
using System.Text;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

// Omap of plain RADOS objects (the volume index, lease objects): compound read/write ops, one round trip each.
internal sealed partial class CephCluster
{
    /// <summary>Keys per omap page; the OSD caps a page anyway (osd_max_omap_entries_per_request).</summary>
    private const ulong OmapPageSize = 1024;

    public Task<IReadOnlyDictionary<string, string>> ReadOmapAsync(string pool, string ns, string objectName, CancellationToken ct)
    {
        CheckObject(pool, ns, objectName);
        return RunAsync<IReadOnlyDictionary<string, string>>(
            $"rados_read_op_omap_get_vals2 {pool}/{ns}/{objectName}", pool, ns, io => ReadAll(io, pool, ns, objectName, keysOnly: false), ct);
    }

    public Task<IReadOnlyList<string>> ReadOmapKeysAsync(string pool, string ns, string objectName, CancellationToken ct)
    {
        CheckObject(pool, ns, objectName);
        return RunAsync<IReadOnlyList<string>>($"rados_read_op_omap_get_keys2 {pool}/{ns}/{objectName}", pool, ns,
            io => ReadAll(io, pool, ns, objectName, keysOnly: true).Keys.ToList(), ct);
    }

    public Task<string?> ReadOmapKeyAsync(string pool, string ns, string objectName, string key, CancellationToken ct)
    {
        CheckObject(pool, ns, objectName);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return RunAsync($"rados_read_op_omap_get_vals_by_keys2 {pool}/{ns}/{objectName} {key}", pool, ns,
            io => ReadKey(io, pool, ns, objectName, key), ct);
    }

    public Task SetOmapKeyAsync(string pool, string ns, string objectName, string key, string value, CancellationToken ct)
    {
        CheckObject(pool, ns, objectName);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        var operation = $"rados_write_op_omap_set2 {pool}/{ns}/{objectName} {key}";
        return RunAsync(operation, pool, ns, io => SetKey(io, objectName, key, value, operation), ct);
    }

    public Task RemoveOmapKeyAsync(string pool, string ns, string objectName, string key, CancellationToken ct)
    {
        CheckObject(pool, ns, objectName);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var operation = $"rados_write_op_omap_rm_keys2 {pool}/{ns}/{objectName} {key}";
        return RunAsync(operation, pool, ns, io => RemoveKey(io, objectName, key, operation), ct);
    }

    public Task RemoveObjectAsync(string pool, string ns, string objectName, CancellationToken ct)
    {
        CheckObject(pool, ns, objectName);
        var operation = $"rados_remove {pool}/{ns}/{objectName}";
        return RunAsync(operation, pool, ns, io =>
        {
            var rc = Librados.rados_remove(io, objectName);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }, ct);
    }

    private static void CheckObject(string pool, string ns, string objectName)
    {
        ArgumentException.ThrowIfNullOrEmpty(pool);
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentException.ThrowIfNullOrEmpty(objectName);
    }

    /// <summary>Every pair, a page per round trip; with <paramref name="keysOnly"/> the values are not sent (all "").</summary>
    private static unsafe Dictionary<string, string> ReadAll(SafeIoCtxHandle io, string pool, string ns, string objectName, bool keysOnly)
    {
        var operation = $"rados_read_op_operate {pool}/{ns}/{objectName}";
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? startAfter = null;
        while (true)
        {
            // Written by librados while the op runs: stack locals of this (non-async) frame stay put until then.
            byte more = 0;
            var prval = 0;
            var op = Librados.rados_create_read_op();
            var iter = nint.Zero;
            try
            {
                if (keysOnly)
                {
                    Librados.rados_read_op_omap_get_keys2(op, startAfter, OmapPageSize, out iter, &more, &prval);
                }
                else
                {
                    Librados.rados_read_op_omap_get_vals2(op, startAfter, null, OmapPageSize, out iter, &more, &prval);
                }

                var rc = Librados.rados_read_op_operate(op, io, objectName, 0);
                if (rc == -Errno.ENOENT)
                {
                    return result;
                }

                NativeCall.Check(rc, operation);
                NativeCall.Check(prval, operation);
                startAfter = Drain(iter, result) ?? startAfter;
            }
            finally
            {
                // The iterator is allocated when the op is built, so it is freed whatever the outcome.
                if (iter != nint.Zero)
                {
                    Librados.rados_omap_get_end(iter);
                }

                Librados.rados_release_read_op(op);
            }

            if (more == 0)
            {
                return result;
            }
        }
    }

    private static string? ReadKey(SafeIoCtxHandle io, string pool, string ns, string objectName, string key) =>
        ReadKeys(io, pool, ns, objectName, [key]) is { } values && values.TryGetValue(key, out var value)
            ? Encoding.UTF8.GetString(value)
            : null;

    /// <summary>The raw values of the given omap keys (absent keys are left out); null when the object does not
    /// exist. One round trip.</summary>
    private static unsafe Dictionary<string, byte[]>? ReadKeys(SafeIoCtxHandle io, string pool, string ns, string objectName, IReadOnlyList<string> keys)
    {
        var operation = $"rados_read_op_operate {pool}/{ns}/{objectName}";
        var keyBytes = keys.Select(NativeCall.Utf8Z).ToArray();
        var handles = keyBytes.Select(k => GCHandle.Alloc(k, GCHandleType.Pinned)).ToArray();
        var prval = 0;
        var op = Librados.rados_create_read_op();
        var iter = nint.Zero;
        try
        {
            var pointers = stackalloc byte*[keys.Count];
            var lengths = stackalloc nuint[keys.Count];
            for (var i = 0; i < keys.Count; i++)
            {
                pointers[i] = (byte*)handles[i].AddrOfPinnedObject();
                lengths[i] = (nuint)(keyBytes[i].Length - 1);
            }

            // by_keys2 copies the keys into the op, so the pins only need to outlive this call.
            Librados.rados_read_op_omap_get_vals_by_keys2(op, pointers, (nuint)keys.Count, lengths, out iter, &prval);
            var rc = Librados.rados_read_op_operate(op, io, objectName, 0);
            if (rc == -Errno.ENOENT)
            {
                return null;
            }

            NativeCall.Check(rc, operation);
            NativeCall.Check(prval, operation);
            var values = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            Drain(iter, values, static (value, length) => NativeCall.Bytes(value, length));
            return values;
        }
        finally
        {
            foreach (var handle in handles)
            {
                handle.Free();
            }

            if (iter != nint.Zero)
            {
                Librados.rados_omap_get_end(iter);
            }

            Librados.rados_release_read_op(op);
        }
    }

    private static unsafe int SetKey(SafeIoCtxHandle io, string objectName, string key, string value, string operation)
    {
        var keyBytes = NativeCall.Utf8Z(key);
        var valueBytes = NativeCall.Utf8Z(value);
        var op = Librados.rados_create_write_op();
        try
        {
            Librados.rados_write_op_create(op, Librados.CreateIdempotent, null);
            fixed (byte* k = keyBytes, v = valueBytes)
            {
                // omap_set2 copies keys and values into the op right away.
                var keys = stackalloc byte*[] { k };
                var values = stackalloc byte*[] { v };
                var keyLengths = stackalloc nuint[] { (nuint)(keyBytes.Length - 1) };
                var valueLengths = stackalloc nuint[] { (nuint)(valueBytes.Length - 1) };
                Librados.rados_write_op_omap_set2(op, keys, values, keyLengths, valueLengths, 1);
            }

            return NativeCall.Check(Librados.rados_write_op_operate2(op, io, objectName, nint.Zero, 0), operation);
        }
        finally
        {
            Librados.rados_release_write_op(op);
        }
    }

    private static unsafe int RemoveKey(SafeIoCtxHandle io, string objectName, string key, string operation)
    {
        var keyBytes = NativeCall.Utf8Z(key);
        var op = Librados.rados_create_write_op();
        try
        {
            fixed (byte* k = keyBytes)
            {
                var keys = stackalloc byte*[] { k };
                var keyLengths = stackalloc nuint[] { (nuint)(keyBytes.Length - 1) };
                Librados.rados_write_op_omap_rm_keys2(op, keys, keyLengths, 1);
            }

            // The OSD answers -ENOENT when the object is missing: then the key is gone too.
            var rc = Librados.rados_write_op_operate2(op, io, objectName, nint.Zero, 0);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }
        finally
        {
            Librados.rados_release_write_op(op);
        }
    }

    /// <summary>Copies every pair out of the iterator; returns the last key seen (null when none).</summary>
    private static string? Drain(nint iter, Dictionary<string, string> into) => Drain(iter, into, NativeCall.Utf8);

    private static string? Drain<T>(nint iter, Dictionary<string, T> into, Func<nint, nuint, T> decode)
    {
        string? last = null;
        while (true)
        {
            NativeCall.Check(Librados.rados_omap_get_next2(iter, out var key, out var value, out var keyLength, out var valueLength), "rados_omap_get_next2");
            if (key == nint.Zero)
            {
                return last;
            }

            last = NativeCall.Utf8(key, keyLength);
            into[last] = decode(value, valueLength);
        }
    }
}
