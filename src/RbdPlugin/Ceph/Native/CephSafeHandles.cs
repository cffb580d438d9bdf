using System.Runtime.InteropServices;

namespace RbdPlugin.Ceph.Native;

/// <summary>
/// A native Ceph handle that keeps the handle it was made from alive: an image needs its cluster connection, an ioctx
/// needs its cluster. SafeHandle ref-counting also means a Dispose racing with an in-flight call waits for the call.
/// </summary>
internal abstract class CephSafeHandle : SafeHandle
{
    private SafeHandle? _parent;

    protected CephSafeHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Holds a reference on <paramref name="parent"/> until this handle is released.</summary>
    public void KeepAlive(SafeHandle parent)
    {
        var added = false;
        parent.DangerousAddRef(ref added);
        if (added)
        {
            _parent = parent;
        }
    }

    protected sealed override bool ReleaseHandle()
    {
        Release(handle);
        _parent?.DangerousRelease();
        return true;
    }

    protected abstract void Release(nint native);
}

/// <summary>rados_t: rados_shutdown on release (also valid for a handle that never connected).</summary>
internal sealed class SafeRadosHandle : CephSafeHandle
{
    protected override void Release(nint native) => Librados.rados_shutdown(native);
}

/// <summary>rados_ioctx_t: rados_ioctx_destroy on release.</summary>
internal sealed class SafeIoCtxHandle : CephSafeHandle
{
    protected override void Release(nint native) => Librados.rados_ioctx_destroy(native);
}

/// <summary>rbd_image_t: rbd_close on release. librbd keeps its own copies of the ioctx, so the image only pins the ioctx
/// handle to keep the cluster connection alive.</summary>
internal sealed class SafeRbdImageHandle : CephSafeHandle
{
    // rbd_close only fails when flushing writes fails; the control plane never writes image data, so there is nothing
    // to flush and nothing a release could do about it.
    protected override void Release(nint native) => _ = Librbd.rbd_close(native);
}
