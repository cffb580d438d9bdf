using System.Runtime.InteropServices;

namespace RbdPlugin.Ceph.Native;

/// <summary>
/// The librados calls we use, nothing more. Signatures follow /usr/include/rados/librados.h (Ceph 16.2.15):
/// every call returns 0 or a negated errno unless noted. Handles that outlive one method are <see cref="SafeHandle"/>s;
/// read/write ops live inside one method and stay raw pointers released in a finally.
/// </summary>
internal static unsafe partial class Librados
{
    private const string Lib = "librados.so.2";

    /// <summary>#define LIBRADOS_CREATE_IDEMPOTENT 0: create the object if missing, no error if present.</summary>
    public const int CreateIdempotent = 0;

    // int rados_create2(rados_t *pcluster, const char *const clustername, const char * const name, uint64_t flags);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_create2(out SafeRadosHandle cluster, string clusterName, string name, ulong flags);

    // int rados_conf_read_file(rados_t cluster, const char *path);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_conf_read_file(SafeRadosHandle cluster, string path);

    // int rados_conf_set(rados_t cluster, const char *option, const char *value);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_conf_set(SafeRadosHandle cluster, string option, string value);

    // int rados_connect(rados_t cluster);
    [LibraryImport(Lib)]
    public static partial int rados_connect(SafeRadosHandle cluster);

    // void rados_shutdown(rados_t cluster);  (also frees a handle that never connected)
    [LibraryImport(Lib)]
    public static partial void rados_shutdown(nint cluster);

    // uint64_t rados_get_instance_id(rados_t cluster);
    [LibraryImport(Lib)]
    public static partial ulong rados_get_instance_id(SafeRadosHandle cluster);

    // int rados_getaddrs(rados_t cluster, char** addrs);  (*addrs is strdup'ed: free() it)
    [LibraryImport(Lib)]
    public static partial int rados_getaddrs(SafeRadosHandle cluster, out nint addrs);

    // int rados_blocklist_add(rados_t cluster, char *client_address, uint32_t expire_seconds);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_blocklist_add(SafeRadosHandle cluster, string clientAddress, uint expireSeconds);

    // int rados_mon_command(rados_t cluster, const char **cmd, size_t cmdlen, const char *inbuf, size_t inbuflen,
    //     char **outbuf, size_t *outbuflen, char **outs, size_t *outslen);
    // outbuf and outs are allocated by librados (even on error): release both with rados_buffer_free.
    [LibraryImport(Lib)]
    public static partial int rados_mon_command(SafeRadosHandle cluster, byte** cmd, nuint cmdLen, byte* inBuf, nuint inBufLen,
        out nint outBuf, out nuint outBufLen, out nint outs, out nuint outsLen);

    // void rados_buffer_free(char *buf);
    [LibraryImport(Lib)]
    public static partial void rados_buffer_free(nint buf);

    // int rados_ioctx_create(rados_t cluster, const char *pool_name, rados_ioctx_t *ioctx);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_ioctx_create(SafeRadosHandle cluster, string poolName, out SafeIoCtxHandle ioctx);

    // void rados_ioctx_destroy(rados_ioctx_t io);
    [LibraryImport(Lib)]
    public static partial void rados_ioctx_destroy(nint io);

    // void rados_ioctx_set_namespace(rados_ioctx_t io, const char *nspace);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void rados_ioctx_set_namespace(SafeIoCtxHandle io, string nspace);

    // int rados_remove(rados_ioctx_t io, const char *oid);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_remove(SafeIoCtxHandle io, string oid);

    // rados_read_op_t rados_create_read_op(void);
    [LibraryImport(Lib)]
    public static partial nint rados_create_read_op();

    // void rados_release_read_op(rados_read_op_t read_op);
    [LibraryImport(Lib)]
    public static partial void rados_release_read_op(nint readOp);

    // void rados_read_op_omap_get_vals2(rados_read_op_t read_op, const char *start_after, const char *filter_prefix,
    //     uint64_t max_return, rados_omap_iter_t *iter, unsigned char *pmore, int *prval);
    // pmore and prval are written when the op runs, so they must stay put until rados_read_op_operate returns.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void rados_read_op_omap_get_vals2(
        nint readOp, string? startAfter, string? filterPrefix, ulong maxReturn, out nint iter, byte* more, int* prval);

    // void rados_read_op_omap_get_keys2(rados_read_op_t read_op, const char *start_after, uint64_t max_return,
    //     rados_omap_iter_t *iter, unsigned char *pmore, int *prval);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void rados_read_op_omap_get_keys2(
        nint readOp, string? startAfter, ulong maxReturn, out nint iter, byte* more, int* prval);

    // void rados_read_op_omap_get_vals_by_keys2(rados_read_op_t read_op, char const* const* keys, size_t num_keys,
    //     const size_t* key_lens, rados_omap_iter_t *iter, int *prval);
    [LibraryImport(Lib)]
    public static partial void rados_read_op_omap_get_vals_by_keys2(
        nint readOp, byte** keys, nuint numKeys, nuint* keyLens, out nint iter, int* prval);

    // int rados_read_op_operate(rados_read_op_t read_op, rados_ioctx_t io, const char *oid, int flags);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_read_op_operate(nint readOp, SafeIoCtxHandle io, string oid, int flags);

    // int rados_omap_get_next2(rados_omap_iter_t iter, char **key, char **val, size_t *key_len, size_t *val_len);
    // At the end key and val are NULL. They point into the iterator: copy before rados_omap_get_end.
    [LibraryImport(Lib)]
    public static partial int rados_omap_get_next2(nint iter, out nint key, out nint val, out nuint keyLen, out nuint valLen);

    // void rados_omap_get_end(rados_omap_iter_t iter);
    [LibraryImport(Lib)]
    public static partial void rados_omap_get_end(nint iter);

    // rados_write_op_t rados_create_write_op(void);
    [LibraryImport(Lib)]
    public static partial nint rados_create_write_op();

    // void rados_release_write_op(rados_write_op_t write_op);
    [LibraryImport(Lib)]
    public static partial void rados_release_write_op(nint writeOp);

    // void rados_write_op_create(rados_write_op_t write_op, int exclusive, const char* category);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void rados_write_op_create(nint writeOp, int exclusive, string? category);

    // void rados_write_op_omap_set2(rados_write_op_t write_op, char const* const* keys, char const* const* vals,
    //     const size_t *key_lens, const size_t *val_lens, size_t num);
    [LibraryImport(Lib)]
    public static partial void rados_write_op_omap_set2(
        nint writeOp, byte** keys, byte** vals, nuint* keyLens, nuint* valLens, nuint num);

    // void rados_write_op_omap_rm_keys2(rados_write_op_t write_op, char const* const* keys, const size_t* key_lens,
    //     size_t keys_len);
    [LibraryImport(Lib)]
    public static partial void rados_write_op_omap_rm_keys2(nint writeOp, byte** keys, nuint* keyLens, nuint keysLen);

    // int rados_write_op_operate2(rados_write_op_t write_op, rados_ioctx_t io, const char *oid,
    //     struct timespec *mtime, int flags);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_write_op_operate2(nint writeOp, SafeIoCtxHandle io, string oid, nint mtime, int flags);

    /// <summary>#define LIBRADOS_LOCK_FLAG_MUST_RENEW (1u&lt;&lt;1): renew only a lock this (client, cookie) still holds, else -ENOENT.</summary>
    public const byte LockFlagMustRenew = 1 << 1;

    // int rados_lock_exclusive(rados_ioctx_t io, const char * oid, const char * name, const char * cookie,
    //     const char * desc, struct timeval * duration, uint8_t flags);
    // -EBUSY: held by another (client, cookie); -EEXIST: already held by this (client, cookie).
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_lock_exclusive(
        SafeIoCtxHandle io, string oid, string name, string cookie, string desc, TimeVal* duration, byte flags);

    // int rados_unlock(rados_ioctx_t io, const char *o, const char *name, const char *cookie);
    // -ENOENT: not held by this (client, cookie).
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_unlock(SafeIoCtxHandle io, string oid, string name, string cookie);

    // ssize_t rados_list_lockers(rados_ioctx_t io, const char *o, const char *name, int *exclusive,
    //     char *tag, size_t *tag_len, char *clients, size_t *clients_len, char *cookies, size_t *cookies_len,
    //     char *addrs, size_t *addrs_len);
    // Returns the number of lockers; -ERANGE after filling in the sizes needed when a buffer is too short.
    // The three lists are '\0'-separated strings, one per locker, in the same order.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint rados_list_lockers(
        SafeIoCtxHandle io, string oid, string name, int* exclusive, byte* tag, nuint* tagLen, byte* clients,
        nuint* clientsLen, byte* cookies, nuint* cookiesLen, byte* addrs, nuint* addrsLen);

    // int rados_break_lock(rados_ioctx_t io, const char *o, const char *name, const char *client, const char *cookie);
    // -ENOENT: not held by that (client, cookie); -EINVAL: client is not like "client.4123".
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rados_break_lock(SafeIoCtxHandle io, string oid, string name, string client, string cookie);
}
