namespace RbdPlugin.Ceph;

/// <summary>How the daemon connects to the cluster. Only paths: the key itself never passes through here.</summary>
/// <param name="ConfPath">ceph.conf with the monitors (e.g. /etc/ceph/ceph.conf).</param>
/// <param name="ClientId">Ceph client id without the "client." prefix (e.g. "docker").</param>
/// <param name="KeyringPath">Keyring file holding the client's key.</param>
/// <param name="OperationTimeout">Upper bound of one operation including retries; also librados's mon/osd op and
/// mount timeouts, so no single native call blocks longer.</param>
internal sealed record CephConnectionOptions(string ConfPath, string ClientId, string KeyringPath, TimeSpan OperationTimeout)
{
    /// <summary>The name librados authenticates as.</summary>
    public string ClientName => $"client.{ClientId}";

    /// <summary>Throws <see cref="ArgumentException"/> for settings that cannot work.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConfPath))
        {
            throw new ArgumentException("the ceph.conf path is empty", nameof(ConfPath));
        }

        if (string.IsNullOrWhiteSpace(ClientId) || ClientId.StartsWith("client.", StringComparison.Ordinal))
        {
            throw new ArgumentException($"the client id must be given without the \"client.\" prefix, got \"{ClientId}\"", nameof(ClientId));
        }

        if (string.IsNullOrWhiteSpace(KeyringPath))
        {
            throw new ArgumentException("the keyring path is empty", nameof(KeyringPath));
        }

        if (OperationTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"the operation timeout must be at least 1s, got {OperationTimeout}", nameof(OperationTimeout));
        }
    }

    /// <summary>The timeout in whole seconds, rounded up: librados's timeout options are integral seconds.</summary>
    public string TimeoutSeconds => ((long)Math.Ceiling(OperationTimeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
