namespace RbdPlugin.Ceph;

/// <summary>The cluster-wide side of the connection: who we are to the OSDs, fencing, and monitor commands.</summary>
internal interface ICephAdmin
{
    /// <summary>This connection's address as the OSDs see it: what a peer blocklists to fence this daemon.</summary>
    string InstanceAddress { get; }

    /// <summary>Fences a client: the OSDs refuse its I/O until <paramref name="expiry"/> passes.</summary>
    Task BlocklistAddAsync(string clientAddress, TimeSpan expiry, CancellationToken ct);

    /// <summary>Lifts a fence: <c>osd blocklist rm ADDRESS</c>. Returns the monitors' result code (0, or a negated errno:
    /// EACCES for a client whose caps only allow adding, like profile rbd) and status text. An address not
    /// blocklisted is success.</summary>
    Task<(int Result, string Status)> BlocklistRemoveAsync(string clientAddress, CancellationToken ct);

    /// <summary>
    /// Sends one monitor command (JSON, as the ceph CLI would) and returns its result code (0 or a negated errno)
    /// and status text. Not retried: a doctor probe wants the first answer.
    /// </summary>
    Task<(int Result, string Status)> MonCommandAsync(string json, CancellationToken ct);
}
