using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes;

/// <summary>
/// The "formatted" mark in the image's metadata: written after the first mkfs (or at the first mount that finds a
/// filesystem on an older volume), and an image that carries it is never formatted again, whatever the probe says.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class FormatMarkTests : IDisposable
{
    private const string MountId = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly ImageRef Image = new("rbd", "", "db1");
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private string? MarkValue => _h.Ceph.Images[Image].Metadata.GetValueOrDefault(FormatMark.Key);

    private void SetMark(string value) => _h.Ceph.Images[Image] = _h.Ceph.Images[Image] with
    {
        Metadata = new Dictionary<string, string>(_h.Ceph.Images[Image].Metadata) { [FormatMark.Key] = value },
    };

    private async Task MountAndReleaseAsync()
    {
        await _h.Driver.MountAsync("db1", MountId, _ct);
        await _h.Driver.UnmountAsync("db1", MountId, _ct);
        await _h.PassGraceAsync();
    }

    [Fact]
    public async Task Mount_FirstMkfs_MarksTheImageWithFsTypeTimeAndHost()
    {
        // Arrange
        await _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["fstype"] = "xfs" }, _ct);
        Assert.Null(MarkValue);

        // Act
        await _h.Driver.MountAsync("db1", MountId, _ct);

        // Assert
        Assert.Equal(new FormatMark("xfs", _h.Time.GetUtcNow(), "host-a"), FormatMark.FromJson(MarkValue!));
        Assert.Equal(["map", "probe", "mkfs", "mount"], _h.Host.Log);
    }

    [Fact]
    public async Task Mount_MarkedImageWhoseProbeFindsNothing_RefusedNothingFormattedNothingLeftMapped()
    {
        // Arrange: formatted once, then the filesystem vanished (wiped head, or a probe that read nothing).
        await _h.Driver.CreateAsync("db1", null, _ct);
        await MountAndReleaseAsync();
        _h.Host.Signatures.Clear();
        _h.Host.Log.Clear();

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", MountId, _ct));

        // Assert
        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("was formatted (ext4 on 2026-11-27T10:00:00Z by host host-a)", e.Message, StringComparison.Ordinal);
        Assert.Contains("seems gone or unreadable", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was formatted", e.Message, StringComparison.Ordinal);
        Assert.Contains("rbd export rbd/db1", e.Message, StringComparison.Ordinal);
        Assert.Equal(["map", "probe", "unmap"], _h.Host.Log);
        Assert.Empty(_h.Host.Mapped);
        Assert.Empty(_h.Journal.All);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"fsType\":\"ext4; rm -rf /\",\"formattedAt\":\"2026-01-01T00:00:00Z\",\"host\":\"h\"}")]
    public async Task Mount_DamagedOrHostileMark_StillRefusesAndEchoesNoneOfIt(string value)
    {
        // Arrange
        await _h.Driver.CreateAsync("db1", null, _ct);
        SetMark(value);

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", MountId, _ct));

        // Assert
        Assert.Contains("was formatted, but", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("rm -rf", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mkfs", _h.Host.Log);
    }

    [Fact]
    public async Task Mount_VolumeFromBeforeTheMarkWithAFilesystem_MarkedAtThatMountWithTheFoundType()
    {
        // Arrange: formatted by an older plugin, which wrote no mark.
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Host.Signatures["/dev/fake0"] = "xfs";

        // Act
        await _h.Driver.MountAsync("db1", MountId, _ct);

        // Assert
        Assert.Equal("xfs", FormatMark.FromJson(MarkValue!)!.FsType);
        Assert.DoesNotContain("mkfs", _h.Host.Log);
    }

    [Fact]
    public async Task Mount_MarkedAndFilesystemFound_MountsWithoutRewritingTheMark()
    {
        // Arrange
        await _h.Driver.CreateAsync("db1", null, _ct);
        await MountAndReleaseAsync();
        var first = MarkValue;
        _h.Time.Advance(TimeSpan.FromHours(1));

        // Act
        await _h.Driver.MountAsync("db1", MountId, _ct);

        // Assert
        Assert.Equal(first, MarkValue);
        Assert.Equal(1, _h.Host.Log.Count(s => s == "mkfs"));
    }

    [Fact]
    public async Task Mount_MarkWriteFailsAfterMkfs_MountFailsUnmapped_NextMountMarksWithoutFormattingAgain()
    {
        // Arrange
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Ceph.FailOn = call => call == "SetImageMetadata" ? new CephException("rbd_metadata_set", Errno.ETIMEDOUT) : null;

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", MountId, _ct));
        _h.Ceph.FailOn = _ => null;
        await _h.Driver.MountAsync("db1", MountId, _ct);

        // Assert
        Assert.Equal(VolumeErrorKind.Unavailable, e.Kind);
        Assert.Contains(FormatMark.Key, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, _h.Host.Log.Count(s => s == "mkfs"));
        Assert.Equal("ext4", FormatMark.FromJson(MarkValue!)!.FsType);
    }

    [Fact]
    public async Task Mount_MkfsRefusesADeviceThatIsNotBlank_ConflictNamingTheImageAndNothingLeftMapped()
    {
        // Arrange
        await _h.Driver.CreateAsync("db1", null, _ct);
        _h.Host.FailOn = step => step == "mkfs"
            ? new DeviceNotBlankException("refusing to make a filesystem on /dev/fake0: blkid finds no signature on it, but byte 4096 is not zero")
            : null;

        // Act
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", MountId, _ct));

        // Assert
        Assert.Equal(VolumeErrorKind.Conflict, e.Kind);
        Assert.Contains("byte 4096 is not zero", e.Message, StringComparison.Ordinal);
        Assert.Contains("Inspect the image rbd/db1", e.Message, StringComparison.Ordinal);
        Assert.Null(MarkValue);
        Assert.Empty(_h.Host.Mapped);
    }

    [Fact]
    public async Task Clone_OfAMarkedVolume_CarriesNoMarkUntilItsFirstMountFindsTheFilesystem()
    {
        // Arrange: librbd copies the parent's metadata into a clone, but a snapshot may predate the first mkfs.
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Get<VolumeSnapshots>().CreateUnmountedAsync((await _h.Get<VolumeCatalog>().GetAsync("db1", _ct))!, "s1", _ct);
        await MountAndReleaseAsync();
        Assert.NotNull(MarkValue);

        // Act
        await _h.Driver.CreateAsync("c1", new Dictionary<string, string> { ["from-snapshot"] = "db1@s1" }, _ct);
        var cloned = _h.Ceph.Images.Single(i => i.Key.Name == "c1").Value;
        await _h.Driver.MountAsync("c1", MountId, _ct);

        // Assert: the snapshot held no filesystem, so the clone's first mount formats it, and marks it.
        Assert.DoesNotContain(FormatMark.Key, cloned.Metadata.Keys);
        Assert.Equal(2, _h.Host.Log.Count(s => s == "mkfs"));
        Assert.Contains(FormatMark.Key, _h.Ceph.Images.Single(i => i.Key.Name == "c1").Value.Metadata.Keys);
    }
}
