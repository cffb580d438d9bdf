using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// The dev cluster deploy/ceph/dev-cluster.sh runs, as its <c>env</c> command exports it. Cluster-tier tests fail
/// (never skip) when it is not configured: a green run must mean the real thing was exercised.
/// </summary>
internal static class DevCluster
{
    private const string Hint = "run `eval \"$(deploy/ceph/dev-cluster.sh env)\"` (after `deploy/ceph/dev-cluster.sh up`) before the cluster tests";

    public static string ConfPath => Require("RBD_PLUGIN_CEPH_CONF");

    public static string ClientId => Require("RBD_PLUGIN_CEPH_ID");

    public static string KeyringPath => Require("RBD_PLUGIN_KEYRING");

    public static string Pool => Require("RBD_PLUGIN_POOL");

    /// <summary>The allowed pools other than <see cref="Pool"/> (the dev cluster has "rbd-extra").</summary>
    public static string ExtraPool =>
        Require("RBD_PLUGIN_ALLOWED_POOLS").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(p => p != Pool)
        ?? throw new InvalidOperationException($"RBD_PLUGIN_ALLOWED_POOLS names no pool besides {Pool}: {Hint}");

    public static CephConnectionOptions Options(TimeSpan? timeout = null) =>
        new(ConfPath, ClientId, KeyringPath, timeout ?? TimeSpan.FromSeconds(20));

    public static Task<CephClient> ConnectAsync(TimeSpan? timeout = null) => CephClient.ConnectAsync(Options(timeout));

    /// <summary>A fresh image name: "t-" and 12 random hex digits.</summary>
    public static string NewName() => "t-" + Guid.NewGuid().ToString("N")[..12];

    public static ImageRef NewImage(string? pool = null) => new(pool ?? Pool, "", NewName());

    private static string Require(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value)
            ? throw new InvalidOperationException($"{name} is not set: {Hint}")
            : value;
    }
}

/// <summary>One connection shared by the tests of a collection.</summary>
public sealed class CephClusterFixture : IAsyncLifetime
{
    private CephClient? _cluster;

    internal CephClient Cluster => _cluster ?? throw new InvalidOperationException("not connected");

    public async Task InitializeAsync() => _cluster = await DevCluster.ConnectAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedCephCluster : ICollectionFixture<CephClusterFixture>
{
    public const string Name = "Ceph cluster";
}
