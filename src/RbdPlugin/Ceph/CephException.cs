namespace RbdPlugin.Ceph;

/// <summary>A librados/librbd call failed with a negative errno.</summary>
internal sealed class CephException : Exception
{
    public CephException(string operation, int errno)
        : base($"{operation} failed: {Ceph.Errno.Describe(errno)}")
    {
        Operation = operation;
        Errno = errno;
    }

    public CephException(string operation, int errno, Exception inner)
        : base($"{operation} failed: {Ceph.Errno.Describe(errno)}", inner)
    {
        Operation = operation;
        Errno = errno;
    }

    public CephException() : this("ceph", 0) { }

    public CephException(string message) : base(message) => Operation = "ceph";

    public CephException(string message, Exception inner) : base(message, inner) => Operation = "ceph";

    /// <summary>The call that failed, e.g. "rbd_create4 rbd/db1".</summary>
    public string Operation { get; }

    /// <summary>The positive errno value (ENOENT = 2, ...).</summary>
    public int Errno { get; }

    /// <summary>
    /// Errors worth retrying: the cluster was slow or briefly unreachable. Not ESHUTDOWN: librados reports a
    /// blocklisted client as -EBLOCKLISTED, which is ESHUTDOWN (108); that client is fenced for good and retrying
    /// only delays the failure.
    /// </summary>
    public bool IsTransient => Errno is Ceph.Errno.ETIMEDOUT or Ceph.Errno.EAGAIN or Ceph.Errno.ECONNREFUSED
        or Ceph.Errno.ECONNRESET or Ceph.Errno.ENOTCONN or Ceph.Errno.EINTR;
}
