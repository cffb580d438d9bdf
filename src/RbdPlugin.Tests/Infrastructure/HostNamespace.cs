using System.Diagnostics;
using System.Globalization;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// A private mount namespace standing for one host, as <c>deploy/dev-docker.sh up --name</c> makes for an engine:
/// <c>unshare --mount --propagation private</c>, so mounts made inside never show outside and the host's later
/// mounts never show inside. A <c>sleep infinity</c> anchor keeps it alive while its daemon is killed and restarted
/// (a restart joins the same namespace, as on a real host). Commands join it with <c>nsenter -t ANCHOR -m</c>; the
/// test reaches its files through <c>/proc/ANCHOR/root</c>, which resolves paths in that namespace's mount tree.
/// </summary>
internal sealed class HostNamespace : IAsyncDisposable
{
    private readonly Process _anchor;
    private readonly bool _owned;

    private HostNamespace(Process anchor, bool owned)
    {
        _anchor = anchor;
        _owned = owned;
    }

    public int Pid => _anchor.Id;

    /// <summary>"mnt:[INODE]": the namespace's identity.</summary>
    public string Id => NamespaceOf(Pid);

    public static async Task<HostNamespace> CreateAsync()
    {
        var anchor = ToolProcess.Start("unshare", ["--mount", "--propagation", "private", "--", "sleep", "infinity"]);
        var ours = NamespaceOf(Environment.ProcessId);
        // unshare execs sleep once the namespace exists: until then the pid still shows ours.
        for (var deadline = DateTime.UtcNow.AddSeconds(10); NamespaceOf(anchor.Id) == ours; await Task.Delay(20))
        {
            if (anchor.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"unshare --mount did not make a namespace: {await anchor.StandardError.ReadToEndAsync()}");
            }
        }

        return new HostNamespace(anchor, owned: true);
    }

    /// <summary>The namespace of a named dev engine (<c>deploy/dev-docker.sh up --name NAME</c>), held by that
    /// script's anchor (its pid in /run/rbd-plugin-dev-NAME/ns.pid); ended by the script's <c>down</c>, not here.</summary>
    public static HostNamespace OfEngine(string name)
    {
        var file = $"/run/rbd-plugin-dev-{name}/ns.pid";
        if (!File.Exists(file))
        {
            throw new InvalidOperationException(
                $"{file} is missing: engine {name} was started by an older deploy/dev-docker.sh; run `deploy/dev-docker.sh down --name {name}` and try again");
        }

        var pid = int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);
        return new HostNamespace(Process.GetProcessById(pid), owned: false);
    }

    /// <summary>argv run inside the namespace: nsenter -t ANCHOR -m -- ARGV (nsenter execs ARGV: same pid).</summary>
    public IReadOnlyList<string> Enter(IEnumerable<string> argv) =>
        ["nsenter", "-t", Pid.ToString(CultureInfo.InvariantCulture), "-m", "--", .. argv];

    /// <summary>The path as the test process can open it: /proc/ANCHOR/root/PATH.</summary>
    public string Reach(string path) => $"/proc/{Pid}/root{Path.GetFullPath(path)}";

    /// <summary>The mountinfo lines of this namespace, split into fields.</summary>
    public IReadOnlyList<string[]> MountInfo() => ReadMountInfo($"/proc/{Pid}/mountinfo");

    public bool IsMounted(string path) => MountInfo().Any(f => f[4] == path);

    /// <summary>Whether the test process's own namespace shows a mount at the path.</summary>
    public static bool IsMountedHere(string path) => ReadMountInfo("/proc/self/mountinfo").Any(f => f[4] == path);

    private static List<string[]> ReadMountInfo(string file) => File.ReadAllLines(file).Select(l => l.Split(' ')).ToList();

    public static string NamespaceOf(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/mnt").LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Ends the anchor this created. The namespace goes once nothing else runs in it (release its mounts
    /// first: <see cref="HostCleanup.ReleaseUnderAsync(string, HostNamespace?)"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_owned && !_anchor.HasExited)
        {
            _anchor.Kill();
            await _anchor.WaitForExitAsync();
        }

        _anchor.Dispose();
    }
}
