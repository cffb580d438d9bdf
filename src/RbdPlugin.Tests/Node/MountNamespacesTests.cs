using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

/// <summary>Reading every mount namespace once, from a /proc laid out by the test, and from the real /proc.</summary>
[Trait("Tier", "Fast")]
public sealed class MountNamespacesTests : IDisposable
{
    private readonly string _proc = Directory.CreateTempSubdirectory("rbd-plugin-proc-").FullName;

    public void Dispose() => Directory.Delete(_proc, recursive: true);

    private void Process(string pid, string ns, string? mountpoint)
    {
        var dir = Path.Combine(_proc, pid);
        Directory.CreateDirectory(Path.Combine(dir, "ns"));
        File.CreateSymbolicLink(Path.Combine(dir, "ns", "mnt"), ns);
        if (mountpoint is not null)
        {
            File.WriteAllText(Path.Combine(dir, "mountinfo"), $"36 35 7:0 / {mountpoint} rw,relatime shared:1 - ext4 /dev/loop0 rw\n");
        }
    }

    [Fact]
    public void ReadAll_OneReadPerNamespace_SkippingProcessesThatEnded()
    {
        Process("1", "mnt:[100]", "/host");
        Process("7", "mnt:[100]", "/host"); // same namespace: read once
        Process("20", "mnt:[200]", null); // ended between listing and reading: its namespace is read through pid 21
        Process("21", "mnt:[200]", "/data");
        Directory.CreateDirectory(Path.Combine(_proc, "self"));

        var mounts = new MountNamespaces(_proc).ReadAll();

        Assert.Equal(["/data", "/host"], mounts.Select(m => m.MountPoint).Order(StringComparer.Ordinal));
        Assert.All(mounts, m => Assert.Equal("/dev/loop0", m.Source));
    }

    [Fact]
    public void ReadAll_RealProc_IncludesOurOwnMounts()
    {
        var ours = MountInfoTable.Parse(File.ReadAllText("/proc/self/mountinfo"));

        var all = new MountNamespaces().ReadAll();

        Assert.Contains(all, m => m.MountPoint == ours[0].MountPoint && m.Source == ours[0].Source);
    }
}
