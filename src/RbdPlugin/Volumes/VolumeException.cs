namespace RbdPlugin.Volumes;

/// <summary>The kinds of failure a user can meet; each message says what was wrong and what to do.</summary>
internal enum VolumeErrorKind
{
    /// <summary>Bad name or option: nothing was changed.</summary>
    InvalidArgument,
    /// <summary>No such volume.</summary>
    NotFound,
    /// <summary>The volume exists with other options, or a name is taken by something that is not ours.</summary>
    Conflict,
    /// <summary>Mounted or watched somewhere: the operation would lose data.</summary>
    InUse,
    /// <summary>The cluster or a host tool did not answer or failed; retrying later may work.</summary>
    Unavailable,
    /// <summary>A host command (map, mkfs, mount) failed.</summary>
    HostCommandFailed,
    /// <summary>Stored data (a backup, a record read back from Ceph) failed verification: it is refused and nothing was changed.</summary>
    Damaged,
}

/// <summary>An expected failure of a volume verb, carrying a user-facing message.</summary>
internal sealed class VolumeException : Exception
{
    public VolumeException(VolumeErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;

    public VolumeException() : this(VolumeErrorKind.Unavailable, "volume operation failed") { }

    public VolumeException(string message) : this(VolumeErrorKind.Unavailable, message) { }

    public VolumeException(string message, Exception inner) : this(VolumeErrorKind.Unavailable, message, inner) { }

    public VolumeErrorKind Kind { get; }
}
