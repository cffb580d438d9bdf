using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>A real connection to the dev cluster and the Ceph services under test over it, as the daemon uses them.</summary>
internal sealed class CephClient : IAsyncDisposable
{
    private CephClient(CephConnection connection)
    {
        Connection = connection;
        Images = new CephImages(connection);
        Snapshots = new CephSnapshots(connection);
        Trash = new CephTrash(connection);
        Omap = new RadosOmap(connection);
        Locks = new RadosLocks(connection);
        Admin = new CephAdmin(connection);
    }

    public CephConnection Connection { get; }
    public CephImages Images { get; }
    public CephSnapshots Snapshots { get; }
    public CephTrash Trash { get; }
    public RadosOmap Omap { get; }
    public RadosLocks Locks { get; }
    public CephAdmin Admin { get; }

    public string InstanceAddress => Connection.InstanceAddress;

    public ulong InstanceId => Connection.InstanceId;

    public static async Task<CephClient> ConnectAsync(CephConnectionOptions options) =>
        new(await CephConnection.ConnectAsync(options, NullLogger.Instance, CancellationToken.None));

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
