using System.Runtime.InteropServices;
using System.Text;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary>
/// Blocking omap reads shared by <see cref="RadosOmap"/> and the image-header peek of <see cref="CephImages"/>.
/// Call on the thread pool.
/// </summary>
internal static class OmapReads
{
    /// <summary>Keys per omap page; the OSD caps a page anyway (osd_max_omap_entries_per_request).</summary>
    private const ulong OmapPageSize = 1024;

    /// <summary>Every pair, a page per round trip; with <paramref name="keysOnly"/> the values are not sent (all "").</summary>
    public static unsafe Dictionary<string, string> ReadAll(SafeIoCtxHandle io, RadosObject obj, bool keysOnly)
    {
        var operation = $"rados_read_op_operate {obj}";
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

                var rc = Librados.rados_read_op_operate(op, io, obj.Name, 0);
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

    public static string? ReadKey(SafeIoCtxHandle io, RadosObject obj, string key) =>
        ReadKeys(io, obj, [key]) is { } values && values.TryGetValue(key, out var value)
            ? Encoding.UTF8.GetString(value)
            : null;

    /// <summary>The raw values of the given omap keys (absent keys are left out); null when the object does not
    /// exist. One round trip.</summary>
    public static unsafe Dictionary<string, byte[]>? ReadKeys(SafeIoCtxHandle io, RadosObject obj, IReadOnlyList<string> keys)
    {
        var operation = $"rados_read_op_operate {obj}";
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
            var rc = Librados.rados_read_op_operate(op, io, obj.Name, 0);
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
