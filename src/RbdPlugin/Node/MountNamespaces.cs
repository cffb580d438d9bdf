namespace RbdPlugin.Node;

/// <summary>
/// Reads <c>/proc/PID/mountinfo</c> of one process per mount namespace (told apart by the <c>/proc/PID/ns/mnt</c>
/// link): a container's bind mount of a volume lives only in the container's namespace. Needs the host's pid
/// namespace and root, which the daemon has. A process that ends while being read is skipped; its namespace is
/// read through another process if it has one.
/// </summary>
internal sealed class MountNamespaces(string procRoot = "/proc") : IMountNamespaces
{
    public IReadOnlyList<MountEntry> ReadAll()
    {
        var read = new HashSet<string>(StringComparer.Ordinal);
        var mounts = new List<MountEntry>();
        foreach (var dir in Directory.EnumerateDirectories(procRoot))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }

            try
            {
                var ns = new FileInfo(Path.Combine(dir, "ns", "mnt")).LinkTarget;
                if (ns is null || read.Contains(ns))
                {
                    continue;
                }

                mounts.AddRange(MountInfoTable.Parse(File.ReadAllText(Path.Combine(dir, "mountinfo"))));
                read.Add(ns);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended (or is a kernel thread without a namespace we may read): try the next one.
            }
        }

        return mounts;
    }
}
