namespace RbdPlugin.Node;

/// <summary>
/// Who the data-plane tools connect to the cluster as, and with which local directories. Only paths and the client
/// id: the key stays in the keyring file, so nothing secret ever reaches a process's argv (invariant 6).
/// </summary>
/// <param name="ConfPath">ceph.conf (mon hosts, fsid).</param>
/// <param name="ClientId">Client id without the "client." prefix, e.g. "docker".</param>
/// <param name="KeyringPath">Keyring file holding that client's key.</param>
/// <param name="RunDir">
/// The plugin's own Ceph run directory; null leaves run dir, log file and admin socket to ceph.conf. The conf is the
/// cluster's (mon hosts, auth), but the directories it names belong to the host it was written for: a managed
/// plugin bind-mounts the host's /etc/ceph into a rootfs where the conf's <c>run dir</c> does not exist, and
/// rbd-fuse then aborts (exit 134) trying to create it. So every tool the plugin starts gets
/// <c>--run-dir RUNDIR</c> (its parent exists: Ceph creates the last level itself), <c>--log-file=</c> (a client's
/// default: errors go to stderr, which the plugin captures, and nothing grows unrotated on disk) and
/// <c>--admin-socket=</c> (none: the plugin never asks a tool's admin socket, and per-process sockets of killed
/// tools would pile up). The command line outranks ceph.conf, so whatever a host's conf says, these win.
/// </param>
internal sealed record CephClientArgs(string ConfPath, string ClientId, string KeyringPath, string? RunDir = null)
{
    /// <summary>The connection arguments for the rbd CLI: -c CONF --id ID --keyring KEYRING [--run-dir=RUNDIR --log-file= --admin-socket=].</summary>
    public IReadOnlyList<string> ToArgs() => ["-c", ConfPath, "--id", ClientId, "--keyring", KeyringPath, .. OwnDirectories];

    /// <summary>
    /// The same identity and directories as a CEPH_ARGS value, for tools whose own option parser sits in front of
    /// Ceph's (rbd-fuse hands unknown flags to libfuse). Only an id and paths: nothing secret lives in the
    /// environment. CEPH_ARGS is split on whitespace, so an id or path containing any cannot be expressed and is
    /// refused.
    /// </summary>
    public string ToCephArgsEnv() =>
        ClientId.Any(char.IsWhiteSpace) || KeyringPath.Any(char.IsWhiteSpace) || RunDir?.Any(char.IsWhiteSpace) == true
            ? throw new ArgumentException($"client id, keyring path and run dir must not contain whitespace: '{ClientId}', '{KeyringPath}', '{RunDir}'")
            : string.Join(' ', ["--id", ClientId, "--keyring", KeyringPath, .. OwnDirectories]);

    /// <summary>The overrides that make the tools independent of the directories a host's ceph.conf names.</summary>
    private IReadOnlyList<string> OwnDirectories => RunDir is null ? [] : ["--run-dir=" + RunDir, "--log-file=", "--admin-socket="];
}
