using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Operations;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Encryption;

/// <summary>
/// <c>-o encrypted=true</c> over fakes: what Create refuses and writes, and the order of a Mount (luksFormat only on
/// a blank first mount, open otherwise, filesystem on the crypt device) and of every way a volume leaves the host
/// (the crypt device closed before the unmap).
/// </summary>
[Trait("Tier", "Fast")]
public sealed class EncryptedMountTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly ImageRef Db1 = new("rbd", "", "db1");
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    private static Dictionary<string, string> Encrypted => new Dictionary<string, string> { ["encrypted"] = "true", ["size"] = "1G" };

    private static string CryptName => VolumeMounter.CryptNameOf("host-a", Db1);

    private byte[] StoredPassphrase()
    {
        using var kek = KeyEncryptionKey.Load(_h.KeyFile);
        return WrappedPassphrase.FromJson(_h.Ceph.Images[Db1].Metadata[WrappedPassphrase.MetadataKey])!.Unwrap(Db1, kek, "db1");
    }

    [Fact]
    public async Task Create_Encrypted_WritesAWrappedPassphraseWithTheImage_AndStatusSaysEncrypted()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);

        var wrapped = WrappedPassphrase.FromJson(_h.Ceph.Images[Db1].Metadata[WrappedPassphrase.MetadataKey]);
        Assert.NotNull(wrapped);
        Assert.Equal(_h.Kid, wrapped.Kid);
        Assert.Equal(32, StoredPassphrase().Length);
        Assert.Empty(_h.Host.Log); // nothing formatted at Create
        var info = await _h.Driver.GetAsync("db1", _ct);
        Assert.Equal(true, info!.Status["encrypted"]);
        // Idempotent, and the same options mean the same volume; the other value is a conflict.
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["size"] = "1G" }, _ct));
        Assert.Contains("encrypted (true here, false asked)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_Plain_HasNoWrappedKeyAndNoEncryptedStatus()
    {
        await _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["encrypted"] = "false" }, _ct);

        Assert.DoesNotContain(WrappedPassphrase.MetadataKey, _h.Ceph.Images[Db1].Metadata.Keys);
        Assert.False((await _h.Driver.GetAsync("db1", _ct))!.Status.ContainsKey("encrypted"));
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("TRUE")]
    [InlineData("1")]
    public async Task Create_EncryptedNotTrueOrFalse_IsRefused(string value)
    {
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["encrypted"] = value }, _ct));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains($"invalid option encrypted={value}: use true or false", e.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Ceph.Images);
    }

    [Fact]
    public async Task Create_EncryptedOnTheFuseMapper_IsRefusedNamingKrbdAndNbd()
    {
        using var fuse = new DriverHarness(encryption: false);

        var e = await Assert.ThrowsAsync<VolumeException>(() => fuse.Driver.CreateAsync("db1", Encrypted, _ct));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("cannot serve encrypted volumes", e.Message, StringComparison.Ordinal);
        Assert.Contains("krbd or rbd-nbd", e.Message, StringComparison.Ordinal);
        Assert.Empty(fuse.Ceph.Images);
    }

    [Fact]
    public void Parse_EncryptedWithoutAKeyFile_IsRefusedNamingTheSetting()
    {
        var e = Assert.Throws<VolumeException>(() => CreateOptionsParser.Parse(Encrypted, _h.Settings with { EncryptionKeyFile = null }, MapperAbilities.Any));

        Assert.Contains("set EncryptionKeyFile", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseClone_EncryptedOption_IsRefused_TheCloneInheritsItsSources()
    {
        var e = Assert.Throws<VolumeException>(() => CreateOptionsParser.ParseClone(new Dictionary<string, string> { ["from-snapshot"] = "db1@s1", ["encrypted"] = "true" }, _h.Settings, MapperAbilities.Any));

        Assert.Contains("option 'encrypted' cannot be combined with from-snapshot", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mount_FirstMount_FormatsLuksOverTheBlankDevice_ThenTheFilesystemOnTheCryptDevice()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);

        await _h.Driver.MountAsync("db1", IdA, _ct);

        Assert.Equal(["map", "blank?", "luksFormat", "luksOpen", "probe", "mkfs", "mount"], _h.Host.Log);
        var passphrase = StoredPassphrase();
        Assert.All(_h.Host.Passphrases, p => Assert.Equal(passphrase, p.Passphrase));
        Assert.Equal("/dev/fake0", _h.Host.CryptOpen[CryptName]);
        var mount = Assert.Single(_h.Host.Mounts.Values);
        Assert.Equal(CryptSetup.MapperPath(CryptName), mount.Device);
        Assert.Equal([false], _h.Host.ZeroedMkfs); // a crypt device reads as noise: no lazy journal init
        var entry = _h.Journal.Get("db1")!;
        Assert.Equal((CryptName, "/dev/fake0"), (entry.Crypt, entry.Device));
        var status = (await _h.Driver.GetAsync("db1", _ct))!.Status;
        Assert.Equal(CryptSetup.MapperPath(CryptName), status["cryptDevice"]);
    }

    [Fact]
    public async Task Unmount_ThenMountAgain_ClosesBeforeTheUnmap_AndOpensWithoutFormatting()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();
        Assert.Equal(["umount", "luksClose", "unmap"], _h.Host.Log[^3..]);
        Assert.Empty(_h.Host.CryptOpen);
        _h.Host.Log.Clear();

        await _h.Driver.MountAsync("db1", IdA, _ct);

        Assert.Equal(["map", "luksOpen", "probe", "mount", "grow"], _h.Host.Log);
    }

    [Fact]
    public async Task Mount_DeviceNeitherLuksNorBlank_IsRefusedAndNothingIsFormatted()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        _h.Host.NotBlank.Add("/dev/fake0");

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Contains("neither a LUKS header nor only zeros: refusing to format it", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("luksFormat", _h.Host.Log);
        Assert.Empty(_h.Host.Mapped);
    }

    [Fact]
    public async Task Mount_FormattedVolumeWhoseLuksHeaderIsGone_IsRefused()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        await _h.Driver.UnmountAsync("db1", IdA, _ct);
        await _h.PassGraceAsync();
        _h.Host.Signatures.Clear(); // the header was overwritten with zeros

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Contains("was formatted, but /dev/fake1 carries no LUKS header", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, _h.Host.Log.Count(s => s == "luksFormat"));
    }

    [Fact]
    public async Task Mount_LaterStepFails_UndoClosesTheCryptDeviceBeforeTheUnmap()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        _h.Host.FailOn = step => step == "mount" ? new HostCommandException("mount failed") : null;

        await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Equal(["mount", "luksClose", "unmap"], _h.Host.Log[^3..]);
        Assert.Empty(_h.Host.CryptOpen);
        Assert.Empty(_h.Host.Mapped);
        Assert.Null(_h.Journal.Get("db1"));
    }

    [Fact]
    public async Task Mount_WithAnotherKeyEncryptionKey_FailsClearlyBeforeTakingOrMappingAnything()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        File.Delete(_h.KeyFile);
        KeyEncryptionKey.WriteNew(_h.KeyFile); // this host now has another key

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Contains("this host's EncryptionKeyFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not the key the volume was wrapped with", e.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Host.Log);
        Assert.False((await _h.Inspector.InspectAsync("db1", _ct)).IsHeld);
    }

    [Fact]
    public async Task Mount_EncryptedVolumeOnTheFuseMapper_IsRefusedBeforeTheLease()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        _h.ActiveMapper = new FakeHost { Name = "fuse", OpensEncrypted = false };
        await _h.RestartAsync();

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));

        Assert.Contains("the fuse mapper cannot serve encrypted volumes", e.Message, StringComparison.Ordinal);
        Assert.False((await _h.Inspector.InspectAsync("db1", _ct)).IsHeld);
    }

    [Fact]
    public async Task ReleaseLost_ClosesTheCryptDeviceDeferredBeforeTheUnmap()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Host.Log.Clear();

        await _h.Get<VolumeReleaser>().ReleaseLostAsync(_h.Journal.Get("db1")!, "test: another host took it");

        Assert.Equal(["abandon", "thaw", "umount", "luksClose-deferred", "unmap"], _h.Host.Log);
        Assert.Empty(_h.Host.CryptOpen);
    }

    [Fact]
    public async Task Restart_MountGone_ClosesTheJournaledCryptDeviceThenUnmaps()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Host.Mounts.Clear(); // unmounted behind our back
        _h.Host.Log.Clear();

        var report = await _h.RestartAsync();

        Assert.Equal(1, report.Dropped);
        Assert.Equal(["luksClose", "unmap"], _h.Host.Log);
        Assert.Empty(_h.Host.CryptOpen);
    }

    [Fact]
    public async Task Restart_ContainerStillHasTheCryptDeviceMounted_AfterOurMountWentAway_MountsItAgainAndKeepsIt()
    {
        // Arrange: a managed plugin stopped: Docker took our mount away, the container keeps its own, on the
        // cleartext device (not the mapped one under it)
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        var entry = _h.Journal.Get("db1")!;
        _h.Host.Mounts.Clear();
        _h.Namespaces.Others.Add(new MountEntry(entry.FsDevice, "/data", "ext4"));
        _h.Host.Log.Clear();

        // Act
        var report = await _h.RestartAsync();

        // Assert: kept and mounted again from the crypt device; nothing closed or unmapped under the container
        Assert.Equal(1, report.Kept);
        Assert.Equal(entry.FsDevice, _h.Host.Mounts[entry.Mountpoint].Device);
        Assert.DoesNotContain("luksClose", _h.Host.Log);
        Assert.DoesNotContain("unmap", _h.Host.Log);
    }

    [Fact]
    public async Task Restart_CryptDeviceLeftOpenOverALeftoverKrbdMapping_IsClosedAndUnmapped()
    {
        var krbd = new FakeHost { Name = "krbd", Cluster = _h.Ceph };
        _h.ActiveMapper = krbd;
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        krbd.Mapped[Db1] = new MappedDevice(Db1, "/dev/rbd0", "krbd");
        _h.Host.CryptOpen[CryptName] = "/dev/rbd0"; // a crash between luksOpen and the journal write
        _h.Host.CryptOpen["rbd-plugin-0000-other"] = "/dev/rbd7"; // not over a mapping of ours: left alone

        var report = await _h.RestartAsync();

        Assert.Equal(["rbd-plugin-0000-other"], _h.Host.CryptOpen.Keys);
        Assert.Empty(krbd.Mapped);
        Assert.Equal(1, report.OrphansCleaned);
    }

    [Fact]
    public async Task Restart_LeftoverCryptDeviceStillMounted_IsLeftAlone()
    {
        var krbd = new FakeHost { Name = "krbd", Cluster = _h.Ceph };
        _h.ActiveMapper = krbd;
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        krbd.Mapped[Db1] = new MappedDevice(Db1, "/dev/rbd0", "krbd");
        _h.Host.CryptOpen[CryptName] = "/dev/rbd0";
        _h.Probe.DevicesInUse.Add(CryptSetup.MapperPath(CryptName)); // open in another mount namespace
        _h.Probe.DevicesInUse.Add("/dev/rbd0"); // held by the crypt device

        await _h.RestartAsync();

        Assert.Contains(CryptName, _h.Host.CryptOpen.Keys);
        Assert.Contains(Db1, krbd.Mapped.Keys);
    }

    [Fact]
    public async Task Grow_EncryptedVolume_ResizesTheCryptDeviceBeforeTheFilesystem()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        _h.Host.Log.Clear();

        await _h.Driver.GrowAsync("db1", _ct);

        Assert.Equal(["refresh", "luksResize", "grow"], _h.Host.Log);
        Assert.Equal(StoredPassphrase(), _h.Host.Passphrases[^1].Passphrase);
    }

    [Fact]
    public async Task Clone_OfAnEncryptedVolume_IsEncryptedWithTheSamePassphraseWrappedForTheClone()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.SnapshotAsync("db1", "s1", _ct);

        await _h.Driver.CreateAsync("db2", new Dictionary<string, string> { ["from-snapshot"] = "db1@s1" }, _ct);

        var db2 = new ImageRef("rbd", "", "db2");
        using var kek = KeyEncryptionKey.Load(_h.KeyFile);
        var wrapped = WrappedPassphrase.FromJson(_h.Ceph.Images[db2].Metadata[WrappedPassphrase.MetadataKey])!;
        Assert.Equal(StoredPassphrase(), wrapped.Unwrap(db2, kek, "db2"));
        Assert.Equal(true, (await _h.Driver.GetAsync("db2", _ct))!.Status["encrypted"]);
    }

    [Fact]
    public async Task TrashRestoreUnderAnotherName_RewrapsForTheNewName_AndItMounts()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        var before = StoredPassphrase();
        await _h.Driver.RemoveAsync("db1", _ct);

        await _h.Get<VolumeTrash>().RestoreAsync("db1", "db9", _ct);
        await _h.Driver.MountAsync("db9", IdA, _ct);

        Assert.Contains("luksOpen", _h.Host.Log);
        Assert.All(_h.Host.Passphrases, p => Assert.Equal(before, p.Passphrase));
    }

    [Fact]
    public async Task Rotate_RewrapsEveryEncryptedVolumeOnce_ThenMountsWithTheNewKeyOnly()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        await _h.Driver.CreateAsync("plain", null, _ct);
        var before = StoredPassphrase();
        var newKeyFile = Path.Combine(_h.Root, "kek.new");
        var newKid = KeyEncryptionKey.WriteNew(newKeyFile);
        var keys = new KeyOperations(_h.Get<VolumeCatalog>(), _h.Get<VolumeKeys>(), _h.Get<ICephImages>());

        var first = await keys.RotateAsync(newKeyFile, _ct);
        var second = await keys.RotateAsync(newKeyFile, _ct);

        Assert.Equal([new KeyRotatedVolume("db1", "rewrapped", newKid, null)], first.Volumes);
        Assert.Equal([new KeyRotatedVolume("db1", "current", newKid, null)], second.Volumes);
        // The old key no longer opens it; the new one does, with the passphrase it always had (LUKS untouched).
        var oldKey = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1", IdA, _ct));
        Assert.Contains("is not the key the volume was wrapped with", oldKey.Message, StringComparison.Ordinal);
        File.Copy(newKeyFile, _h.KeyFile, overwrite: true);
        await _h.Driver.MountAsync("db1", IdA, _ct);
        Assert.Equal(before, StoredPassphrase());
        Assert.All(_h.Host.Passphrases, p => Assert.Equal(before, p.Passphrase));
    }

    [Fact]
    public async Task Rotate_VolumeUnderNeitherKey_FailsForThatVolumeAndWritesNothing()
    {
        await _h.Driver.CreateAsync("db1", Encrypted, _ct);
        var metadata = _h.Ceph.Images[Db1].Metadata[WrappedPassphrase.MetadataKey];
        File.Delete(_h.KeyFile);
        KeyEncryptionKey.WriteNew(_h.KeyFile);
        var newKeyFile = Path.Combine(_h.Root, "kek.new");
        KeyEncryptionKey.WriteNew(newKeyFile);
        var keys = new KeyOperations(_h.Get<VolumeCatalog>(), _h.Get<VolumeKeys>(), _h.Get<ICephImages>());

        var result = await keys.RotateAsync(newKeyFile, _ct);

        var only = Assert.Single(result.Volumes);
        Assert.Equal("failed", only.Result);
        Assert.Contains("is not the key the volume was wrapped with", only.Error, StringComparison.Ordinal);
        Assert.False(result.AllDone);
        Assert.Equal(metadata, _h.Ceph.Images[Db1].Metadata[WrappedPassphrase.MetadataKey]);
    }
}
