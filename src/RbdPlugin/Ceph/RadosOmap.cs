using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary><see cref="IRadosOmap"/> over librados.</summary>
internal sealed class RadosOmap(CephConnection connection) : IRadosOmap
{
    public Task<IReadOnlyDictionary<string, string>> ReadOmapAsync(RadosObject obj, CancellationToken ct)
    {
        obj.Validate();
        return connection.RunAsync<IReadOnlyDictionary<string, string>>(
            $"rados_read_op_omap_get_vals2 {obj}", obj.Pool, obj.Namespace, io => OmapReads.ReadAll(io, obj, keysOnly: false), ct);
    }

    public Task<IReadOnlyList<string>> ReadOmapKeysAsync(RadosObject obj, CancellationToken ct)
    {
        obj.Validate();
        return connection.RunAsync<IReadOnlyList<string>>($"rados_read_op_omap_get_keys2 {obj}", obj.Pool, obj.Namespace,
            io => OmapReads.ReadAll(io, obj, keysOnly: true).Keys.ToList(), ct);
    }

    public Task<string?> ReadOmapKeyAsync(RadosObject obj, string key, CancellationToken ct)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(key);
        return connection.RunAsync($"rados_read_op_omap_get_vals_by_keys2 {obj} {key}", obj.Pool, obj.Namespace,
            io => OmapReads.ReadKey(io, obj, key), ct);
    }

    public Task SetOmapKeyAsync(RadosObject obj, string key, string value, CancellationToken ct)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        var operation = $"rados_write_op_omap_set2 {obj} {key}";
        return connection.RunAsync(operation, obj.Pool, obj.Namespace, io => SetKey(io, obj.Name, key, value, operation), ct);
    }

    public Task RemoveOmapKeyAsync(RadosObject obj, string key, CancellationToken ct)
    {
        obj.Validate();
        ArgumentException.ThrowIfNullOrEmpty(key);
        var operation = $"rados_write_op_omap_rm_keys2 {obj} {key}";
        return connection.RunAsync(operation, obj.Pool, obj.Namespace, io => RemoveKey(io, obj.Name, key, operation), ct);
    }

    public Task RemoveObjectAsync(RadosObject obj, CancellationToken ct)
    {
        obj.Validate();
        var operation = $"rados_remove {obj}";
        return connection.RunAsync(operation, obj.Pool, obj.Namespace, io =>
        {
            var rc = Librados.rados_remove(io, obj.Name);
            return rc == -Errno.ENOENT ? 0 : NativeCall.Check(rc, operation);
        }, ct);
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
}
