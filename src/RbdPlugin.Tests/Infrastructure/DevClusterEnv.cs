using RbdPlugin.Node;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Where the real dev cluster is, from the environment that <c>deploy/ceph/dev-cluster.sh env</c> prints.
/// Tests of the real thing fail (never skip) without it: a green run must mean the cluster was exercised.
/// </summary>
internal sealed record DevClusterEnv(string CephConf, string CephId, string Keyring, string Pool)
{
    public const string Hint = "run `eval \"$(deploy/ceph/dev-cluster.sh env)\"` first (and `deploy/ceph/dev-cluster.sh up` if the cluster is not running)";

    /// <summary>The cluster's settings; throws, failing the test, when any variable is missing.</summary>
    public static DevClusterEnv Require()
    {
        string[] names = ["RBD_PLUGIN_CEPH_CONF", "RBD_PLUGIN_CEPH_ID", "RBD_PLUGIN_KEYRING", "RBD_PLUGIN_POOL"];
        var values = names.Select(Environment.GetEnvironmentVariable).ToArray();
        var missing = names.Where((_, i) => string.IsNullOrWhiteSpace(values[i])).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"dev cluster environment missing ({string.Join(", ", missing)}): {Hint}");
        }
        if (!File.Exists(values[0]))
        {
            throw new InvalidOperationException($"RBD_PLUGIN_CEPH_CONF={values[0]} does not exist: {Hint}");
        }
        return new DevClusterEnv(values[0]!, values[1]!, values[2]!, values[3]!);
    }

    public CephClientArgs Client => new(CephConf, CephId, Keyring);
}
