using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary>
/// The daemon's one connection to the cluster, for its whole life, and one ioctx per (pool, namespace), created on
/// first use and kept. Every native call runs on the thread pool under <see cref="CephRetry"/>. The task-shaped
/// services (<see cref="CephImages"/>, <see cref="CephSnapshots"/>, <see cref="CephTrash"/>, <see cref="RadosOmap"/>,
/// <see cref="RadosLocks"/>, <see cref="CephAdmin"/>) all run on it.
/// </summary>
internal sealed partial class CephConnection : IAsyncDisposable
{
    private readonly SafeRadosHandle _rados;
    private readonly ConcurrentDictionary<(string Pool, string Namespace), SafeIoCtxHandle> _ioctxs = new();
    private int _disposed;

    private CephConnection(SafeRadosHandle rados, CephRetry retry, ILogger logger, string instanceAddress)
    {
        _rados = rados;
        Retry = retry;
        Logger = logger;
        InstanceAddress = instanceAddress;
    }

    /// <summary>This connection's address as the OSDs see it, e.g. "127.0.0.1:0/3141592": what a peer blocklists to fence us.</summary>
    public string InstanceAddress { get; }

    /// <summary>The global id the monitors gave this connection (the N of client.N in watcher and lock lists).</summary>
    public ulong InstanceId => Librados.rados_get_instance_id(_rados);

    public CephRetry Retry { get; }

    public ILogger Logger { get; }

    /// <summary>Connects as client.ID with the keyring file; fails within about the operation timeout.</summary>
    public static async Task<CephConnection> ConnectAsync(CephConnectionOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        var retry = new CephRetry(options.OperationTimeout, logger);
        var rados = await retry.ExecuteAsync($"rados_connect {options.ClientName}", () => Connect(options), ct);
        try
        {
            var address = ReadAddress(rados);
            LogConnected(logger, options.ClientName, options.ConfPath, Librados.rados_get_instance_id(rados), address);
            return new CephConnection(rados, retry, logger, address);
        }
        catch
        {
            rados.Dispose();
            throw;
        }
    }

    /// <summary>The cluster handle, for calls that need no pool (monitor commands, the blocklist).</summary>
    public SafeRadosHandle Rados
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _rados;
        }
    }

    /// <summary>Runs one blocking step against the ioctx of (pool, namespace) under the retry policy.</summary>
    public Task<T> RunAsync<T>(string operation, string pool, string ns, Func<SafeIoCtxHandle, T> call, CancellationToken ct) =>
        Retry.ExecuteAsync(operation, () => call(IoCtx(pool, ns)), ct);

    /// <summary>Runs one step on the image, opened for it and closed right after; ENOENT when there is no such image.</summary>
    public Task<T> RunOnImageAsync<T>(string operation, ImageRef image, bool readOnly, Func<SafeRbdImageHandle, T> call, CancellationToken ct) =>
        RunAsync(operation, image.Pool, image.Namespace, io =>
        {
            using var img = ImageHandles.Open(io, image, readOnly);
            return call(img);
        }, ct);

    /// <summary>The ioctx for (pool, namespace), created on first use. Its namespace is never changed afterwards,
    /// so concurrent calls can share it. Blocking: call on the thread pool.</summary>
    public SafeIoCtxHandle IoCtx(string pool, string ns)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_ioctxs.TryGetValue((pool, ns), out var existing))
        {
            return existing;
        }

        NativeCall.Check(Librados.rados_ioctx_create(_rados, pool, out var io), $"rados_ioctx_create {pool}");
        io.KeepAlive(_rados);
        if (ns.Length > 0)
        {
            Librados.rados_ioctx_set_namespace(io, ns);
        }

        if (_ioctxs.TryAdd((pool, ns), io))
        {
            LogIoCtxOpened(Logger, pool, ns);
            return io;
        }

        io.Dispose();
        return _ioctxs[(pool, ns)];
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // rados_shutdown waits for in-flight work; keep it off the caller's thread too. SafeHandle ref counts make
        // a call still running finish before its ioctx or the connection is torn down.
        await Task.Run(() =>
        {
            foreach (var key in _ioctxs.Keys)
            {
                if (_ioctxs.TryRemove(key, out var io))
                {
                    io.Dispose();
                }
            }

            _rados.Dispose();
        });
        LogDisconnected(Logger);
    }

    private static SafeRadosHandle Connect(CephConnectionOptions options)
    {
        var name = options.ClientName;
        NativeCall.Check(Librados.rados_create2(out var rados, "ceph", name, 0), $"rados_create2 {name}");
        try
        {
            NativeCall.Check(Librados.rados_conf_read_file(rados, options.ConfPath), $"rados_conf_read_file {options.ConfPath}");
            // The key stays in its file: librados reads it, we only name the path.
            SetConf(rados, "keyring", options.KeyringPath);
            // Every client on a host would otherwise try to bind the same admin socket path.
            SetConf(rados, "admin_socket", "");
            // Bound every native call, so the retry budget is never eaten by one call that hangs.
            SetConf(rados, "rados_mon_op_timeout", options.TimeoutSeconds);
            SetConf(rados, "rados_osd_op_timeout", options.TimeoutSeconds);
            SetConf(rados, "client_mount_timeout", options.TimeoutSeconds);
            NativeCall.Check(Librados.rados_connect(rados), $"rados_connect {name}");
            return rados;
        }
        catch
        {
            rados.Dispose();
            throw;
        }
    }

    private static void SetConf(SafeRadosHandle rados, string option, string value) =>
        NativeCall.Check(Librados.rados_conf_set(rados, option, value), $"rados_conf_set {option}");

    private static string ReadAddress(SafeRadosHandle rados)
    {
        NativeCall.Check(Librados.rados_getaddrs(rados, out var addrs), "rados_getaddrs");
        try
        {
            return NativeCall.CString(addrs) ?? "";
        }
        finally
        {
            unsafe
            {
                // librados strdup()s the string: free() is the matching release.
                NativeMemory.Free((void*)addrs);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to Ceph as {Client} ({Conf}): instance {InstanceId} at {Address}")]
    private static partial void LogConnected(ILogger logger, string client, string conf, ulong instanceId, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Disconnected from Ceph")]
    private static partial void LogDisconnected(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Opened ioctx for pool {Pool} namespace \"{Namespace}\"")]
    private static partial void LogIoCtxOpened(ILogger logger, string pool, string @namespace);
}
