namespace RbdPlugin.Hosting;

/// <summary>
/// Every setting of the daemon. Bound, lowest precedence first, from the config file
/// (<c>/etc/rbd-plugin/rbd-plugin.json</c>), environment variables <c>RBD_PLUGIN_*</c> (e.g. RBD_PLUGIN_POOL,
/// RBD_PLUGIN_CEPH_CONF) and command-line flags (<c>--pool</c>, <c>--ceph-conf</c>). Validated at start.
/// </summary>
internal sealed class PluginOptions
{
    /// <summary>ceph.conf to read (mon hosts, fsid). Flag --ceph-conf.</summary>
    public string CephConf { get; set; } = "/etc/ceph/ceph.conf";

    /// <summary>Ceph client id without the "client." prefix. Flag --ceph-id.</summary>
    public string CephId { get; set; } = "docker";

    /// <summary>Keyring file holding the client's key (never the key itself). Flag --keyring.</summary>
    public string Keyring { get; set; } = "/etc/ceph/ceph.client.docker.keyring";

    /// <summary>Default pool for new volumes; also holds the volume index. Flag --pool.</summary>
    public string Pool { get; set; } = "rbd";

    /// <summary>Optional RADOS namespace inside the pools. Flag --namespace.</summary>
    public string Namespace { get; set; } = "";

    /// <summary>Pools a volume may be created in with -o pool=; the default pool is always allowed. Flag --allowed-pools (comma list).</summary>
    public List<string> AllowedPools { get; set; } = [];

    /// <summary>Size of a volume created without -o size. Flag --default-size.</summary>
    public string DefaultSize { get; set; } = "10G";

    /// <summary>Largest size -o size may ask for. Flag --max-size.</summary>
    public string MaxSize { get; set; } = "64T";

    /// <summary>Filesystem made on first mount when -o fstype is not given: ext4 or xfs. Flag --default-fstype.</summary>
    public string DefaultFsType { get; set; } = "ext4";

    /// <summary>Block-device mapper: auto, krbd, nbd or fuse. Flag --mapper.</summary>
    public string Mapper { get; set; } = "auto";

    /// <summary>Volumes are mounted at MountRoot/NAME. Flag --mount-root.</summary>
    public string MountRoot { get; set; } = "/var/lib/rbd-plugin/mounts";

    /// <summary>Journal and other local state. Flag --state-dir.</summary>
    public string StateDir { get; set; } = "/var/lib/rbd-plugin/state";

    /// <summary>What Remove does with the image: trash, delete or keep. Flag --remove-action.</summary>
    public string RemoveAction { get; set; } = "trash";

    /// <summary>How long a trashed image stays restorable before the daemon purges it. Flag --trash-expiry.</summary>
    public TimeSpan TrashExpiry { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Delay between the last Unmount and the real unmount/unmap, absorbing Docker's copy-up churn. Flag --unmount-grace.</summary>
    public TimeSpan UnmountGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound of one Ceph operation including retries. Flag --ceph-timeout.</summary>
    public TimeSpan CephTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Unix socket Docker connects to; empty disables it. Flag --socket.</summary>
    public string Socket { get; set; } = "/run/docker/plugins/rbd.sock";

    /// <summary>TCP listener "host:port"; empty disables it. Flag --tcp.</summary>
    public string TcpListen { get; set; } = "";

    /// <summary>Server certificate (PEM) for the TCP listener. Flag --tls-cert.</summary>
    public string TlsCert { get; set; } = "";

    /// <summary>Server private key (PEM) for the TCP listener. Flag --tls-key.</summary>
    public string TlsKey { get; set; } = "";

    /// <summary>CA (PEM) that must have signed Docker's client certificate. Flag --tls-client-ca.</summary>
    public string TlsClientCa { get; set; } = "";

    /// <summary>Allow plain HTTP on TCP; only honoured on a loopback address. Flag --insecure-loopback-http.</summary>
    public bool InsecureLoopbackHttp { get; set; }

    /// <summary>This host's identity in ownership records; default: the hostname. Flag --host-id.</summary>
    public string HostId { get; set; } = "";

    /// <summary>verbose, debug, information, warning, error. Flag --log-level.</summary>
    public string LogLevel { get; set; } = "information";

    /// <summary>text or json. Flag --log-format.</summary>
    public string LogFormat { get; set; } = "text";
}
