using System.Runtime.Versioning;
using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Node;

/// <summary>MountRoot and the mountpoints under it are root only (0700), on real directories.</summary>
[Trait("Tier", "Fast")]
[SupportedOSPlatform("linux")]
public sealed class MountRootTests : IDisposable
{
    private const UnixFileMode Open = (UnixFileMode)0b111_101_101; // 0755, what earlier versions made
    private readonly string _parent = Directory.CreateTempSubdirectory("rbd-plugin-mountroot-").FullName;
    private readonly FakeMountTable _mounts = new();

    public void Dispose() => Directory.Delete(_parent, recursive: true);

    private string Root => Path.Combine(_parent, "lib", "mounts");

    [Fact]
    public void Prepare_MissingRoot_CreatedRootOnly()
    {
        MountRoot.Prepare(Root, _mounts, NullLogger.Instance);

        Assert.Equal(MountRoot.PrivateMode, File.GetUnixFileMode(Root));
    }

    [Fact]
    public void Prepare_RootAndUnmountedMountpointsReadableByOthers_TightenedMountedOneLeftAlone()
    {
        // Arrange: what an older version left: everything 0755, and one volume still mounted.
        var stale = Directory.CreateDirectory(Path.Combine(Root, "db1")).FullName;
        var mounted = Directory.CreateDirectory(Path.Combine(Root, "db2")).FullName;
        foreach (var directory in new[] { Root, stale, mounted })
        {
            File.SetUnixFileMode(directory, Open);
        }

        _mounts.Entries.Add(new MountEntry("/dev/rbd0", mounted, "ext4"));

        // Act
        var tightened = MountRoot.Prepare(Root, _mounts, NullLogger.Instance);

        // Assert
        Assert.Equal([Root, stale], tightened);
        Assert.Equal(MountRoot.PrivateMode, File.GetUnixFileMode(Root));
        Assert.Equal(MountRoot.PrivateMode, File.GetUnixFileMode(stale));
        Assert.Equal(Open, File.GetUnixFileMode(mounted)); // the mounted filesystem's root: the volume's own mode
    }

    [Fact]
    public void Prepare_AlreadyRootOnly_NothingChanged()
    {
        Directory.CreateDirectory(Root, MountRoot.PrivateMode);
        Directory.CreateDirectory(Path.Combine(Root, "db1"), MountRoot.PrivateMode);

        Assert.Empty(MountRoot.Prepare(Root, _mounts, NullLogger.Instance));
    }
}
