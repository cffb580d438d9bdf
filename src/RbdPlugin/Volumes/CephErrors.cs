using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>Turns control-plane failures into messages that tell the user what to do.</summary>
internal static class CephErrors
{
    public static async Task<T> Guard<T>(string what, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (CephException e)
        {
            throw Translate(what, e);
        }
    }

    public static Task Guard(string what, Func<Task> call) => Guard(what, async () =>
    {
        await call();
        return true;
    });

    public static VolumeException Translate(string what, CephException e) => e.Errno switch
    {
        Errno.ETIMEDOUT or Errno.ECONNREFUSED or Errno.ENOTCONN or Errno.EAGAIN or Errno.ECONNRESET => new(
            VolumeErrorKind.Unavailable,
            $"{what}: the Ceph cluster did not answer ({e.Message}); check `ceph -s` on a monitor and the mon addresses in the plugin's CephConf, then retry",
            e),
        Errno.EPERM or Errno.EACCES => new(
            VolumeErrorKind.Unavailable,
            $"{what}: Ceph refused the plugin's client ({e.Message}); give it caps \"mon 'profile rbd' osd 'profile rbd pool=POOL'\" for every allowed pool",
            e),
        Errno.ESHUTDOWN => new(
            VolumeErrorKind.Unavailable,
            $"{what}: this host's Ceph client was blocklisted (fenced) by the cluster; restart the plugin after checking no other host took over its volumes",
            e),
        _ => new(VolumeErrorKind.Unavailable, $"{what}: {e.Message}", e),
    };
}
