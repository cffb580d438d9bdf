using System.ComponentModel;

namespace RbdPlugin.Hosting;

/// <summary>
/// Every setting of the daemon. Bound, lowest precedence first, from the config file
/// (<c>/etc/rbd-plugin/rbd-plugin.json</c>), environment variables <c>RBD_PLUGIN_*</c> (e.g. RBD_PLUGIN_POOL,
/// RBD_PLUGIN_CEPH_CONF) and command-line flags (<c>--pool</c>, <c>--ceph-conf</c>), named after the property.
/// Validated at start by <see cref="OptionsValidator"/>. Durations are written like 2s, 500ms, 10m, 7d.
/// </summary>
internal sealed class PluginOptions
{
    [Description("ceph.conf to read (mon hosts, fsid).")]
    public string CephConf { get; set; } = "/etc/ceph/ceph.conf";

    [Description("Ceph client id without the \"client.\" prefix.")]
    public string CephId { get; set; } = "docker";

    [Description("Keyring file holding the client's key (never the key itself).")]
    public string Keyring { get; set; } = "/etc/ceph/ceph.client.docker.keyring";

    [Description("Root-only file (mode 0600) holding the key-encryption key that wraps encrypted volumes' passphrases: one line of base64, 32 bytes (`rbd-plugin key generate FILE`); empty: -o encrypted=true is refused here. The same file on every host that mounts encrypted volumes.")]
    public string EncryptionKeyFile { get; set; } = "";

    [Description("Default pool for new volumes; also holds the volume index.")]
    public string Pool { get; set; } = "rbd";

    [Description("Optional RADOS namespace inside the pools.")]
    public string Namespace { get; set; } = "";

    [Description("Pools a volume may be created in with -o pool=; the default pool is always allowed.")]
    public List<string> AllowedPools { get; set; } = [];

    [Description("Size of a volume created without -o size.")]
    public string DefaultSize { get; set; } = "10G";

    [Description("Largest size -o size may ask for.")]
    public string MaxSize { get; set; } = "64T";

    [Description("Filesystem made on first mount when -o fstype is not given: ext4 or xfs.")]
    public string DefaultFsType { get; set; } = "ext4";

    [Description("Block-device mapper: auto, krbd, nbd or fuse.")]
    public string Mapper { get; set; } = "auto";

    [Description("Volumes are mounted at MountRoot/NAME.")]
    public string MountRoot { get; set; } = "/var/lib/rbd-plugin/mounts";

    [Description("Journal and other local state.")]
    public string StateDir { get; set; } = "/var/lib/rbd-plugin/state";

    [Description("What Remove does with the image: trash, delete or keep.")]
    public string RemoveAction { get; set; } = "trash";

    [Description("How long a trashed image stays restorable before the daemon purges it.")]
    public string TrashExpiry { get; set; } = "7d";

    [Description("Delay between the last Unmount and the real unmount/unmap, absorbing Docker's copy-up churn.")]
    public string UnmountGrace { get; set; } = "2s";

    [Description("A volume Docker counts as mounted here that no container has mounted for this long is released as if unmounted (dockerd restarting after a crash never sends those Unmounts); 0s: never.")]
    public string UnusedMountTimeout { get; set; } = "5m";

    [Description("Upper bound of one Ceph operation including retries; at most a third of LeaseDuration.")]
    public string CephTimeout { get; set; } = "10s";

    [Description("Unix socket Docker connects to; empty disables it.")]
    public string Socket { get; set; } = "/run/docker/plugins/rbd.sock";

    [Description("Root-only unix socket for the runbook CLI and health checks (never Docker's); empty: StateDir/admin.sock.")]
    public string AdminSocket { get; set; } = "";

    [Description("TCP listener \"host:port\"; empty disables it.")]
    public string TcpListen { get; set; } = "";

    [Description("Server certificate (PEM) for the TCP listener.")]
    public string TlsCert { get; set; } = "";

    [Description("Server private key (PEM) for the TCP listener.")]
    public string TlsKey { get; set; } = "";

    [Description("CA (PEM) that must have signed Docker's client certificate; trusted on TcpListen only.")]
    public string TlsClientCa { get; set; } = "";

    [Description("TCP listener \"host:port\" serving only /metrics, /healthz and /readyz (for Prometheus); plain HTTP on loopback, mutual TLS (TlsCert, TlsKey, MetricsTlsClientCa) elsewhere; empty disables it.")]
    public string MetricsListen { get; set; } = "";

    [Description("CA (PEM) that must have signed the client certificates of MetricsListen (Prometheus); a CA of its own, sharing no certificate with TlsClientCa, so a scraping certificate can never call the plugin's verbs. Required off loopback; on loopback it turns mutual TLS on.")]
    public string MetricsTlsClientCa { get; set; } = "";

    [Description("Allow plain HTTP on TCP; only honoured on a loopback address.")]
    public bool InsecureLoopbackHttp { get; set; }

    [Description("This host's identity in ownership records; default: the hostname.")]
    public string HostId { get; set; } = "";

    [Description("Lifetime of a volume's ownership lease without renewal (renewed every sixth of it; at least 3 x CephTimeout); a crashed host's volumes are taken over after it.")]
    public string LeaseDuration { get; set; } = "30s";

    [Description("How long a fenced client (a taken-over host's daemon and writers) stays blocklisted; 0s: until `rbd-plugin host unfence HOST` (10 years at most).")]
    public string FenceExpiry { get; set; } = "0s";

    [Description("How long a Mount waits for another host to release a volume before failing with its name; empty: UnmountGrace + 5s.")]
    public string LeaseWait { get; set; } = "";

    [Description("verbose, debug, information, warning, error.")]
    public string LogLevel { get; set; } = "information";

    [Description("text or json.")]
    public string LogFormat { get; set; } = "text";
}
