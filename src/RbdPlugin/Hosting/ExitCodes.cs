namespace RbdPlugin.Hosting;

/// <summary>Process exit codes, stable for scripts and systemd.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A runtime failure (the message says what).</summary>
    public const int Failure = 1;
    /// <summary>The configuration is invalid; every problem was printed.</summary>
    public const int InvalidConfiguration = 2;
    /// <summary>The Ceph cluster could not be reached or refused the client.</summary>
    public const int CephUnavailable = 3;
}
