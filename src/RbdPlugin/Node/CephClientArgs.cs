namespace RbdPlugin.Node;

/// <summary>
/// Who the data-plane tools connect to the cluster as. Only paths and the client id: the key stays in the keyring
/// file, so nothing secret ever reaches a process's argv (invariant 6).
/// </summary>
/// <param name="ConfPath">ceph.conf (mon hosts, fsid).</param>
/// <param name="ClientId">Client id without the "client." prefix, e.g. "docker".</param>
/// <param name="KeyringPath">Keyring file holding that client's key.</param>
internal sealed record CephClientArgs(string ConfPath, string ClientId, string KeyringPath)
{
    /// <summary>The connection arguments for the rbd CLI: -c CONF --id ID --keyring KEYRING.</summary>
    public IReadOnlyList<string> ToArgs() => ["-c", ConfPath, "--id", ClientId, "--keyring", KeyringPath];

    /// <summary>
    /// The same identity as a CEPH_ARGS value, for tools whose own option parser sits in front of Ceph's
    /// (rbd-fuse hands unknown flags to libfuse). Only an id and a path: nothing secret lives in the environment.
    /// CEPH_ARGS is split on whitespace, so an id or path containing any cannot be expressed and is refused.
    /// </summary>
    public string ToCephArgsEnv() =>
        ClientId.Any(char.IsWhiteSpace) || KeyringPath.Any(char.IsWhiteSpace)
            ? throw new ArgumentException($"client id and keyring path must not contain whitespace: '{ClientId}', '{KeyringPath}'")
            : $"--id {ClientId} --keyring {KeyringPath}";
}
