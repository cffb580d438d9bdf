using RbdPlugin.Ceph;
using RbdPlugin.Node;
using static RbdPlugin.Tests.Fakes.FakeCommandRunner;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Node;

/// <summary>krbd and rbd-nbd as far as this machine can check them: the commands built and the output parsed.</summary>
[Trait("Tier", "Fast")]
public sealed class RbdDeviceMapperTests
{
    private static readonly CephClientArgs Client = new("/etc/ceph/ceph.conf", "docker", "/etc/ceph/ceph.client.docker.keyring");
    private static readonly ImageRef Vol1 = new("rbd", "", "vol1");
    private static readonly string[] ClientArgs = ["-c", "/etc/ceph/ceph.conf", "--id", "docker", "--keyring", "/etc/ceph/ceph.client.docker.keyring"];

    [Theory]
    [InlineData("krbd", "", "rbd/vol1")]
    [InlineData("nbd", "", "rbd/vol1")]
    [InlineData("krbd", "team-a", "rbd/team-a/vol1")]
    public void MapArgs_BuildsDeviceMapWithTypeClientAndSpec(string type, string ns, string spec) =>
        Assert.Equal(["device", "map", "-t", type, .. ClientArgs, spec], RbdDeviceMapper.MapArgs(type, Client, new ImageRef("rbd", ns, "vol1")));

    [Fact]
    public void ListAndUnmapArgs_UseJsonAndTheDevicePath()
    {
        Assert.Equal(["device", "list", "-t", "nbd", .. ClientArgs, "--format", "json"], RbdDeviceMapper.ListArgs("nbd", Client));
        Assert.Equal(["device", "unmap", "-t", "krbd", .. ClientArgs, "/dev/rbd0"], RbdDeviceMapper.UnmapArgs("krbd", Client, "/dev/rbd0"));
    }

    [Fact]
    public void Arguments_NeverCarryAKey() =>
        Assert.DoesNotContain(RbdDeviceMapper.MapArgs("krbd", Client, Vol1), a => a is "--key" or "--secret" || a.Contains("key=", StringComparison.Ordinal));

    [Fact]
    public async Task MapAsync_NotYetMapped_MapsAndReturnsTheDevice()
    {
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("[]"))
            .On("rbd", ["device", "map"], Ok("/dev/rbd3\n"));
        var mapper = new KrbdMapper(runner, Client, new FakeHostProbe());

        var device = await mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal(new MappedDevice(Vol1, "/dev/rbd3", "krbd"), device);
        Assert.Single(runner.CallsTo("rbd", "device", "map"));
    }

    [Fact]
    public async Task MapAsync_AlreadyMapped_ReturnsTheExistingDeviceWithoutMapping()
    {
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("""[{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"-","device":"/dev/rbd0"}]"""));
        var mapper = new KrbdMapper(runner, Client, new FakeHostProbe());

        var device = await mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/rbd0", device.DevicePath);
        Assert.Empty(runner.CallsTo("rbd", "device", "map"));
    }

    [Fact]
    public async Task MapAsync_OnlyASnapshotMapped_MapsTheHead()
    {
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("""[{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"s1","device":"/dev/rbd0"}]"""))
            .On("rbd", ["device", "map"], Ok("/dev/rbd1\n"));

        var device = await new KrbdMapper(runner, Client, new FakeHostProbe()).MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/rbd1", device.DevicePath);
    }

    [Fact]
    public async Task MapAsync_MapFails_ThrowsWithStderr()
    {
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("[]"))
            .On("rbd", ["device", "map"], Fail(6, "rbd: sysfs write failed\nrbd: map failed: (6) No such device or address"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() =>
            new KrbdMapper(runner, Client, new FakeHostProbe()).MapAsync(Vol1, CancellationToken.None));

        Assert.Equal(6, e.ExitCode);
        Assert.Contains("sysfs write failed", e.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnmapAsync_NotInTheList_IsSuccessWithoutUnmapping()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("[]"));

        await new NbdMapper(runner, Client).UnmapAsync(new MappedDevice(Vol1, "/dev/nbd0", "nbd"), CancellationToken.None);

        Assert.Empty(runner.CallsTo("rbd", "device", "unmap"));
    }

    [Fact]
    public async Task UnmapAsync_DeviceNumberReusedByAnotherImage_LeavesItAlone()
    {
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("""[{"id":"0","pool":"rbd","namespace":"","name":"other","snap":"-","device":"/dev/rbd0"}]"""));

        await new KrbdMapper(runner, Client, new FakeHostProbe()).UnmapAsync(new MappedDevice(Vol1, "/dev/rbd0", "krbd"), CancellationToken.None);

        Assert.Empty(runner.CallsTo("rbd", "device", "unmap"));
    }

    [Theory]
    [InlineData("krbd", "rbd: rbd/vol1: " + KrbdMapper.NotMappedImageText)]
    [InlineData("krbd", "rbd: unmap failed: " + KrbdMapper.NoSuchDeviceText)]
    [InlineData("nbd", "rbd-nbd: /dev/nbd0 " + NbdMapper.NotMappedText)]
    public async Task UnmapAsync_NotMappedStderr_IsSuccess(string type, string stderr)
    {
        var device = type == "krbd" ? "/dev/rbd0" : "/dev/nbd0";
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok($$"""[{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"-","device":"{{device}}"}]"""))
            .On("rbd", ["device", "unmap"], Fail(22, stderr));
        IBlockMapper mapper = type == "krbd" ? new KrbdMapper(runner, Client, new FakeHostProbe()) : new NbdMapper(runner, Client);

        await mapper.UnmapAsync(new MappedDevice(Vol1, device, type), CancellationToken.None);

        Assert.Single(runner.CallsTo("rbd", "device", "unmap"));
    }

    [Fact]
    public async Task UnmapAsync_BusyDeviceStillMapped_Throws()
    {
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("""[{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"-","device":"/dev/rbd0"}]"""))
            .On("rbd", ["device", "unmap"], Fail(16, "rbd: sysfs write failed\nrbd: unmap failed: (16) Device or resource busy"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() =>
            new KrbdMapper(runner, Client, new FakeHostProbe()).UnmapAsync(new MappedDevice(Vol1, "/dev/rbd0", "krbd"), CancellationToken.None));

        Assert.Equal(16, e.ExitCode);
    }

    [Fact]
    public async Task UnmapAsync_FailsButGoneOnSecondLook_IsSuccess()
    {
        var runner = new FakeCommandRunner()
            .OnSequence("rbd", ["device", "list"],
                Ok("""[{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"-","device":"/dev/rbd0"}]"""), Ok("[]"))
            .On("rbd", ["device", "unmap"], Fail(1, "rbd: unmap failed: (19) No such device"));

        await new KrbdMapper(runner, Client, new FakeHostProbe()).UnmapAsync(new MappedDevice(Vol1, "/dev/rbd0", "krbd"), CancellationToken.None);
    }

    [Fact]
    public async Task ListMappedAsync_SkipsSnapshotsAndNamesTheMapper()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("""
            [{"id":1,"pool":"rbd","namespace":"ns","image":"vol1","snap":"","device":"/dev/nbd0"},
             {"id":2,"pool":"rbd","namespace":"","image":"vol2","snap":"s1","device":"/dev/nbd1"}]
            """));

        var mapped = await new NbdMapper(runner, Client).ListMappedAsync(CancellationToken.None);

        Assert.Equal([new MappedDevice(new ImageRef("rbd", "ns", "vol1"), "/dev/nbd0", "nbd")], mapped);
    }

    [Theory]
    [InlineData("0x3d\n", 0x3dUL)]
    [InlineData("0X1\n", 0x1UL)]
    [InlineData("ff", 0xffUL)]
    [InlineData(null, RbdFeatures.Layering)]
    [InlineData("", RbdFeatures.Layering)]
    public void ParseSupportedFeatures_HexMaskOrLayeringWhenMissing(string? text, ulong expected) =>
        Assert.Equal(expected, KrbdMapper.ParseSupportedFeatures(text));

    [Fact]
    public void ParseSupportedFeatures_Garbage_Throws() =>
        Assert.Throws<FormatException>(() => KrbdMapper.ParseSupportedFeatures("0xzz"));

    [Fact]
    public void SupportedFeatures_KrbdReadsSysfsAndNbdSupportsAll()
    {
        var host = new FakeHostProbe();
        host.Files[KrbdMapper.SupportedFeaturesPath] = "0x3d\n";

        Assert.Equal(0x3dUL, new KrbdMapper(new FakeCommandRunner(), Client, host).SupportedFeatures);
        Assert.Null(new NbdMapper(new FakeCommandRunner(), Client).SupportedFeatures);
    }
}
