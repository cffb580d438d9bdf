namespace RbdPlugin.Hosting;

/// <summary>Process exit codes, stable for scripts and systemd (docs/runbook.md, "Exit codes").</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A runtime failure (the message says what).</summary>
    public const int Failure = 1;
    /// <summary>The configuration or the command line is invalid (bad flag, option or volume name); every problem was printed.</summary>
    public const int InvalidConfiguration = 2;
    /// <summary>The Ceph cluster could not be reached or refused the client.</summary>
    public const int CephUnavailable = 3;
    /// <summary>No such volume.</summary>
    public const int NotFound = 4;
    /// <summary>The volume is in use (mounted, leased or open somewhere) or conflicts with what exists.</summary>
    public const int InUse = 5;
}
