using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Ceph;
using RbdPlugin.Hosting;
using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>
/// One runbook command's connection to Ceph and the Volumes layer over it, from the same configuration as
/// <c>serve</c>. Its lease identity is its own ("HOSTID.cli" with a throwaway token), never the daemon's: a takeover
/// run on the owning host must fence that daemon, not mistake its lock for a restart of itself.
/// </summary>
internal sealed class VolumeSession : IAsyncDisposable
{
    private readonly CephCluster _ceph;
    private readonly LeaseKeeper _leases;
    private readonly string _tokenDir;

    private VolumeSession(CephCluster ceph, VolumeSettings settings, ulong? mapperFeatures, string adminSocket)
    {
        _ceph = ceph;
        _tokenDir = Directory.CreateTempSubdirectory("rbd-plugin-cli-").FullName;
        var leaseSettings = settings with { HostId = settings.HostId + ".cli", StateDir = _tokenDir };
        _leases = new LeaseKeeper(ceph, leaseSettings, TimeProvider.System, NullLogger<LeaseKeeper>.Instance);
        Operations = new VolumeOperations(ceph, settings, _leases, TimeProvider.System, mapperFeatures);
        Trash = new TrashOperations(ceph, settings, TimeProvider.System);
        Snapshots = new SnapshotOperations(ceph, settings, _leases, TimeProvider.System, adminSocket);
    }

    public VolumeOperations Operations { get; }

    /// <summary>The session's Ceph connection, for command families with their own operations over it.</summary>
    public ICephCluster Ceph => _ceph;

    public TrashOperations Trash { get; }

    /// <summary>Snapshots, clone and resize; <c>adminSocket</c> reaches this host's daemon for mounted volumes.</summary>
    public SnapshotOperations Snapshots { get; }

    public static async Task<VolumeSession> OpenAsync(ValidatedOptions options, CancellationToken ct)
    {
        var raw = options.Raw;
        var ceph = await CephCluster.ConnectAsync(new CephConnectionOptions(raw.CephConf, raw.CephId, raw.Keyring, options.CephTimeout),
            NullLogger.Instance, ct);
        return new VolumeSession(ceph, options.Volumes, MapperFeatures(raw.Mapper), options.AdminSocket);
    }

    public async ValueTask DisposeAsync()
    {
        _leases.Dispose();
        await _ceph.DisposeAsync();
        Directory.Delete(_tokenDir, recursive: true);
    }

    /// <summary>
    /// The image features a create must stay within so this host's daemon can map the volume: the kernel's list when
    /// krbd may be chosen and the module is loaded, otherwise any (nbd and fuse open every feature).
    /// </summary>
    private static ulong? MapperFeatures(string mapper) =>
        mapper is "krbd" or "auto" && File.Exists(KrbdMapper.SupportedFeaturesPath)
            ? KrbdMapper.ParseSupportedFeatures(File.ReadAllText(KrbdMapper.SupportedFeaturesPath))
            : null;
}
