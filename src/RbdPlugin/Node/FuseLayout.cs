using System.Text;
using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// Where the fuse mapper puts things, and the pure argument lists it runs. Each image gets its own rbd-fuse mount
/// at <c>STATE/fuse/POOL.IMAGE</c> (<c>POOL.NAMESPACE.IMAGE</c> with a namespace), so a restarted daemon can tell
/// from the directory name alone which image a mount or loop device belongs to. '%', '.' and '/' inside a name
/// are written as %25, %2E and %2F, which keeps the name reversible whatever the pool or image is called.
/// </summary>
internal static class FuseLayout
{
    /// <summary>The directory name for the image's rbd-fuse mount.</summary>
    public static string DirName(ImageRef image) =>
        image.Namespace.Length == 0
            ? $"{Escape(image.Pool)}.{Escape(image.Name)}"
            : $"{Escape(image.Pool)}.{Escape(image.Namespace)}.{Escape(image.Name)}";

    /// <summary>The image a directory name stands for, or null when the name is not one of ours.</summary>
    public static ImageRef? ParseDirName(string dirName)
    {
        var parts = dirName.Split('.');
        if (parts.Length is not (2 or 3) || parts.Any(p => p.Length == 0))
        {
            return null;
        }
        var decoded = parts.Select(Unescape).ToArray();
        if (decoded.Any(p => p is null))
        {
            return null;
        }
        return parts.Length == 2
            ? new ImageRef(decoded[0]!, "", decoded[1]!)
            : new ImageRef(decoded[0]!, decoded[1]!, decoded[2]!);
    }

    /// <summary>
    /// CEPH_ARGS for rbd-fuse: the client, and librbd's cache off. rbd-fuse answers fsync with success whatever
    /// rbd_flush returned, and librbd stays in writeback after the first flush, so with the cache on a write the
    /// container's fsync acknowledged could still sit in rbd-fuse's memory when the host dies or is fenced. With it
    /// off every write reaches the OSDs before rbd-fuse answers it, so an acknowledged fsync is durable (the
    /// environment outranks ceph.conf, so a host's `rbd cache = true` cannot turn it back on).
    /// </summary>
    public static string RbdFuseCephArgs(CephClientArgs client) => client.ToCephArgsEnv() + " --rbd_cache=false";

    /// <summary>
    /// <c>rbd-fuse -c CONF -p POOL [--namespace=NAMESPACE] -r IMAGE DIR</c>. The client id and keyring path go in
    /// CEPH_ARGS (see <see cref="RbdFuseCephArgs"/>): rbd-fuse releases before Pacific hand every
    /// unknown flag to libfuse, while all releases read CEPH_ARGS. -r limits the mount to the one image, so
    /// rbd-fuse opens nothing else. Namespaces arrived in rbd-fuse with Pacific; the long form is used because
    /// an older rbd-fuse passes "-s" to libfuse (single-threaded mode) and would silently map the image of that
    /// name outside the namespace, while it rejects "--namespace=" as an unknown option.
    /// </summary>
    public static IReadOnlyList<string> RbdFuseArgs(CephClientArgs client, ImageRef image, string dir) =>
        image.Namespace.Length == 0
            ? ["-c", client.ConfPath, "-p", image.Pool, "-r", image.Name, dir]
            : ["-c", client.ConfPath, "-p", image.Pool, "--namespace=" + image.Namespace, "-r", image.Name, dir];

    /// <summary>
    /// <c>losetup --find --show [--direct-io=on] FILE</c>: direct I/O keeps the loop device from caching the image
    /// a second time in the page cache of the fuse file, and sends flushes straight to rbd-fuse.
    /// </summary>
    public static IReadOnlyList<string> LosetupAttachArgs(string file, bool directIo) =>
        directIo ? ["--find", "--show", "--direct-io=on", file] : ["--find", "--show", file];

    /// <summary><c>losetup --list --json --output NAME,BACK-FILE</c>.</summary>
    public static IReadOnlyList<string> LosetupListArgs { get; } = ["--list", "--json", "--output", "NAME,BACK-FILE"];

    private static string Escape(string part) =>
        part.Replace("%", "%25", StringComparison.Ordinal)
            .Replace(".", "%2E", StringComparison.Ordinal)
            .Replace("/", "%2F", StringComparison.Ordinal);

    private static string? Unescape(string part)
    {
        var sb = new StringBuilder(part.Length);
        for (var i = 0; i < part.Length; i++)
        {
            if (part[i] != '%')
            {
                sb.Append(part[i]);
                continue;
            }
            if (i + 2 >= part.Length)
            {
                return null;
            }
            var code = part.Substring(i + 1, 2).ToUpperInvariant();
            sb.Append(code switch { "25" => '%', "2E" => '.', "2F" => '/', _ => '\0' });
            if (sb[^1] == '\0')
            {
                return null;
            }
            i += 2;
        }
        return sb.ToString();
    }
}
