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
    public async Task MapAsync_LeftoverMappingNobodyUses_UnmapsItAndMapsAfresh()
    {
        // A leftover's kernel client may have been blocklisted since: reusing it would fail every I/O.
        var runner = new FakeCommandRunner()
            .OnSequence("rbd", ["device", "list"], Ok(Row("vol1", "/dev/rbd0")), Ok("[]"))
            .On("rbd", ["device", "unmap"], Ok())
            .On("rbd", ["device", "map"], Ok("/dev/rbd1\n"));
        var mapper = new KrbdMapper(runner, Client, new FakeHostProbe());

        var device = await mapper.MapAsync(Vol1, CancellationToken.None);

        Assert.Equal("/dev/rbd1", device.DevicePath);
        Assert.Equal("/dev/rbd0", Assert.Single(runner.CallsTo("rbd", "device", "unmap"))[^1]);
        Assert.Single(runner.CallsTo("rbd", "device", "map"));
    }

    [Fact]
    public async Task MapAsync_LeftoverMappingHeldOpen_RefusedWithoutMappingOrUnmapping()
    {
        var host = new FakeHostProbe();
        host.DevicesInUse.Add("/dev/rbd0");
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok(Row("vol1", "/dev/rbd0")))
            .On("dd", [], Ok()); // it still reads: a live user of the image

        var e = await Assert.ThrowsAsync<HostCommandException>(() => new KrbdMapper(runner, Client, host).MapAsync(Vol1, CancellationToken.None));

        Assert.Contains("already mapped on this host at /dev/rbd0", e.Message, StringComparison.Ordinal);
        Assert.Empty(runner.CallsTo("rbd", "device", "map"));
        Assert.Empty(runner.CallsTo("rbd", "device", "unmap"));
    }

    [Fact]
    public async Task MapAsync_LeftoverHeldOpenButFenced_MapsANewDeviceBesideIt_AndAFailedMapLeavesTheOldOneAlone()
    {
        // One kernel, two owners (or this host's own dead mount): the old device fails every read.
        var host = new FakeHostProbe();
        host.DevicesInUse.Add("/dev/rbd0");
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok(Row("vol1", "/dev/rbd0")))
            .On("dd", [], Fail(1, "dd: error reading '/dev/rbd0': Input/output error"))
            .On("rbd", ["device", "map"], Ok("/dev/rbd1\n"));
        var mapper = new KrbdMapper(runner, Client, host);

        Assert.Equal("/dev/rbd1", (await mapper.MapAsync(Vol1, CancellationToken.None)).DevicePath);
        runner.On("rbd", ["device", "map"], Fail(1, "rbd: map failed"));
        await Assert.ThrowsAsync<HostCommandException>(() => mapper.MapAsync(Vol1, CancellationToken.None));
        Assert.Empty(runner.CallsTo("rbd", "device", "unmap"));
    }

    [Fact]
    public async Task MapAsync_KrbdWithoutUdev_MapsNoshareAndNoudev()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("[]")).On("rbd", ["device", "map"], Ok("/dev/rbd0\n"));

        await new KrbdMapper(runner, Client, new FakeHostProbe()).MapAsync(Vol1, CancellationToken.None);

        Assert.Equal(["device", "map", "-t", "krbd", "-o", "noshare,noudev", .. ClientArgs, "rbd/vol1"], Assert.Single(runner.CallsTo("rbd", "device", "map")));
    }

    [Fact]
    public async Task MapAsync_KrbdWithUdevRunning_MapsNoshareOnly()
    {
        var host = new FakeHostProbe();
        host.ListeningSockets.Add(Udev.ControlSocket);
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("[]")).On("rbd", ["device", "map"], Ok("/dev/rbd0\n"));

        await new KrbdMapper(runner, Client, host).MapAsync(Vol1, CancellationToken.None);

        Assert.Equal(["device", "map", "-t", "krbd", "-o", "noshare", .. ClientArgs, "rbd/vol1"], Assert.Single(runner.CallsTo("rbd", "device", "map")));
    }

    [Fact]
    public async Task MapAsync_Nbd_MapsThroughNetlinkWithAReattachTimeout_AndKeepsTheCookie()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("[]")).On("rbd", ["device", "map"], Ok("/dev/nbd0 6617efd0-48bc\n"));

        var device = await new NbdMapper(runner, Client, new FakeHostProbe()).MapAsync(Vol1, CancellationToken.None);

        Assert.Equal(["device", "map", "-t", "nbd", "--show-cookie", "-o", "try-netlink,reattach-timeout=300", .. ClientArgs, "rbd/vol1"],
            Assert.Single(runner.CallsTo("rbd", "device", "map")));
        Assert.Equal(new MappedDevice(Vol1, "/dev/nbd0", "nbd", "6617efd0-48bc"), device);
    }

    [Theory]
    [InlineData("6617efd0-48bc\n", "6617efd0-48bc", true)]
    [InlineData("another-mapping\n", "6617efd0-48bc", false)] // the device number was reused
    [InlineData(null, "6617efd0-48bc", false)] // the kernel gave the device up
    [InlineData("6617efd0-48bc\n", null, false)] // mapped before cookies were kept: nothing proves it is ours
    public void AwaitsReattach_OnlyWhenTheKernelStillHoldsTheDeviceForThisVeryMapping(string? backend, string? cookie, bool expected)
    {
        var probe = new FakeHostProbe();
        if (backend is not null)
        {
            probe.Files["/sys/block/nbd3/backend"] = backend;
        }

        var mapper = new NbdMapper(new FakeCommandRunner(), Client, probe);

        Assert.Equal(expected, mapper.AwaitsReattach(new MappedDevice(Vol1, "/dev/nbd3", "nbd", cookie)));
    }

    [Fact]
    public async Task ReattachAsync_Nbd_AttachesTheImageToTheDeviceWithItsCookie()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "attach"], Ok("/dev/nbd3\n"));

        await new NbdMapper(runner, Client, new FakeHostProbe()).ReattachAsync(new MappedDevice(Vol1, "/dev/nbd3", "nbd", "c0"), CancellationToken.None);

        Assert.Equal(["device", "attach", "-t", "nbd", "--device", "/dev/nbd3", "--cookie", "c0", "-o", "try-netlink,reattach-timeout=300", .. ClientArgs, "rbd/vol1"],
            Assert.Single(runner.CallsTo("rbd", "device", "attach")));
    }

    [Fact]
    public async Task UnmapAsync_NbdDeviceAwaitingReattach_IsUnmapped_SoItsWaitingIoFailsNow()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("[]")).On("rbd", ["device", "unmap"], Ok());
        var probe = new FakeHostProbe();
        probe.Files["/sys/block/nbd3/backend"] = "c0\n";

        await new NbdMapper(runner, Client, probe).UnmapAsync(new MappedDevice(Vol1, "/dev/nbd3", "nbd", "c0"), CancellationToken.None);

        Assert.Equal(["device", "unmap", "-t", "nbd", .. ClientArgs, "/dev/nbd3"], Assert.Single(runner.CallsTo("rbd", "device", "unmap")));
    }

    [Fact]
    public async Task RefreshSizeAsync_NbdMappedThroughNetlink_DetachesThenAttachesWithTheCookie_SoTheDeviceTakesTheImagesSize()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "detach"], Ok()).On("rbd", ["device", "attach"], Ok("/dev/nbd3\n"));
        var mapper = new NbdMapper(runner, Client, new FakeHostProbe());
        var device = new MappedDevice(Vol1, "/dev/nbd3", "nbd", "c0");

        await mapper.RefreshSizeAsync(device, CancellationToken.None);

        Assert.True(mapper.RefreshRenewsClient(device));
        Assert.Equal([["device", "detach", "-t", "nbd", .. ClientArgs, "/dev/nbd3"],
            ["device", "attach", "-t", "nbd", "--device", "/dev/nbd3", "--cookie", "c0", "-o", "try-netlink,reattach-timeout=300", .. ClientArgs, "rbd/vol1"]],
            runner.Calls.Where(c => c.Program == "rbd").Select(c => c.Args.ToArray()).ToArray());
    }

    [Fact]
    public async Task RefreshSizeAsync_NbdMappedWithoutACookie_LeavesItToRbdNbd()
    {
        var runner = new FakeCommandRunner();
        var mapper = new NbdMapper(runner, Client, new FakeHostProbe());

        await mapper.RefreshSizeAsync(new MappedDevice(Vol1, "/dev/nbd3", "nbd"), CancellationToken.None);

        Assert.Empty(runner.Calls);
        Assert.False(mapper.RefreshRenewsClient(new MappedDevice(Vol1, "/dev/nbd3", "nbd")));
    }

    [Fact]
    public void Krbd_NeverAwaitsReattach()
    {
        var probe = new FakeHostProbe();
        probe.Files["/sys/block/rbd0/backend"] = "c0";

        Assert.False(new KrbdMapper(new FakeCommandRunner(), Client, probe).AwaitsReattach(new MappedDevice(Vol1, "/dev/rbd0", "krbd", "c0")));
    }

    public static TheoryData<string> MapFailures => ["exit", "timeout", "cancel", "no-path"];

    [Theory]
    [MemberData(nameof(MapFailures))]
    public async Task MapAsync_FailsTimesOutOrIsCancelled_UnmapsTheDeviceTheKernelMadeMeanwhile(string failure)
    {
        // The kernel mapped the image although the CLI never printed the device (udev wait killed, or cancelled).
        var runner = new FakeCommandRunner()
            .OnSequence("rbd", ["device", "list"], Ok("[]"), Ok(Row("vol1", "/dev/rbd0")), Ok("[]"))
            .On("rbd", ["device", "unmap"], Ok())
            .On("rbd", ["device", "map"], _ => failure switch
            {
                "exit" => Fail(110, "rbd: map failed: (110) Connection timed out"),
                "timeout" => throw new HostCommandException("rbd device map", null, "", "did not finish within 60 s and was killed") { TimedOut = true },
                "cancel" => throw new OperationCanceledException(),
                _ => Ok("rbd: warning: something\n"),
            });
        var mapper = new KrbdMapper(runner, Client, new FakeHostProbe());

        var e = await Assert.ThrowsAnyAsync<Exception>(() => mapper.MapAsync(Vol1, CancellationToken.None));

        Assert.True(e is HostCommandException or OperationCanceledException, e.ToString());
        Assert.Equal(["device", "unmap", "-t", "krbd", "-o", "noudev", .. ClientArgs, "/dev/rbd0"], Assert.Single(runner.CallsTo("rbd", "device", "unmap")));
    }

    [Fact]
    public async Task MapAsync_FailsAndTheUndoFailsToo_SaysBoth()
    {
        var runner = new FakeCommandRunner()
            .OnSequence("rbd", ["device", "list"], Ok("[]"), Ok(Row("vol1", "/dev/rbd0")))
            .On("rbd", ["device", "unmap"], Fail(16, "rbd: unmap failed: (16) Device or resource busy"))
            .On("rbd", ["device", "map"], Fail(1, "rbd: map failed"));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => new KrbdMapper(runner, Client, new FakeHostProbe()).MapAsync(Vol1, CancellationToken.None));

        Assert.Contains("map failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("undoing it failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("(16) Device or resource busy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AbandonAsync_Krbd_ForceUnmapsEvenWhileMounted()
    {
        var runner = new FakeCommandRunner()
            .OnSequence("rbd", ["device", "list"], Ok(Row("vol1", "/dev/rbd0")))
            .On("rbd", ["device", "unmap"], Ok());

        await new KrbdMapper(runner, Client, new FakeHostProbe()).AbandonAsync(new MappedDevice(Vol1, "/dev/rbd0", "krbd"), CancellationToken.None);

        Assert.Equal(["device", "unmap", "-t", "krbd", "-o", "noudev,force", .. ClientArgs, "/dev/rbd0"], Assert.Single(runner.CallsTo("rbd", "device", "unmap")));
    }

    [Fact]
    public async Task AbandonAsync_Nbd_KillsItsRbdNbdProcess()
    {
        var host = new FakeHostProbe();
        host.Processes[4321] = ["/usr/bin/rbd-nbd", "map", "rbd/vol1"];
        host.EndsAfterChecks[4321] = 1;
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("""[{"id":4321,"pool":"rbd","namespace":"","image":"vol1","snap":"","device":"/dev/nbd0","cookie":""}]"""))
            .On("kill", [], Ok());

        await new NbdMapper(runner, Client, host).AbandonAsync(new MappedDevice(Vol1, "/dev/nbd0", "nbd"), CancellationToken.None);

        Assert.Equal(["-KILL", "4321"], Assert.Single(runner.CallsTo("kill")));
        Assert.False(host.IsRunning(4321));
    }

    [Fact]
    public async Task AbandonAsync_NbdMappedWithACookie_KillsItsRbdNbd_ThenDisconnectsTheDeviceTheKernelWouldHoldForAReattach()
    {
        var host = new FakeHostProbe();
        host.Processes[4321] = ["/usr/bin/rbd-nbd", "map", "rbd/vol1"];
        host.EndsAfterChecks[4321] = 1;
        host.Files["/sys/block/nbd0/backend"] = "c0\n";
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok("""[{"id":4321,"pool":"rbd","namespace":"","image":"vol1","snap":"","device":"/dev/nbd0","cookie":"c0"}]"""))
            .On("rbd", ["device", "unmap"], Ok())
            .On("kill", [], Ok());

        await new NbdMapper(runner, Client, host).AbandonAsync(new MappedDevice(Vol1, "/dev/nbd0", "nbd", "c0"), CancellationToken.None);

        Assert.Equal(["-KILL", "4321"], Assert.Single(runner.CallsTo("kill")));
        Assert.Equal(["device", "unmap", "-t", "nbd", .. ClientArgs, "/dev/nbd0"], Assert.Single(runner.CallsTo("rbd", "device", "unmap")));
        Assert.True(runner.Calls.FindIndex(c => c.Program == "kill") < runner.Calls.FindIndex(c => c.Args is ["device", "unmap", ..]));
    }

    [Fact]
    public async Task AbandonAsync_NotMapped_DoesNothing()
    {
        var runner = new FakeCommandRunner().On("rbd", ["device", "list"], Ok("[]"));

        await new KrbdMapper(runner, Client, new FakeHostProbe()).AbandonAsync(new MappedDevice(Vol1, "/dev/rbd0", "krbd"), CancellationToken.None);

        Assert.Empty(runner.CallsTo("rbd", "device", "unmap"));
    }

    private static string Row(string image, string device) =>
        $$"""[{"id":"0","pool":"rbd","namespace":"","name":"{{image}}","snap":"-","device":"{{device}}"}]""";

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

        await new NbdMapper(runner, Client, new FakeHostProbe()).UnmapAsync(new MappedDevice(Vol1, "/dev/nbd0", "nbd"), CancellationToken.None);

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
    [InlineData("krbd", "rbd: '/dev/rbd0' " + KrbdMapper.NotABlockDeviceText + "\nrbd: unmap failed: (22) Invalid argument")]
    [InlineData("nbd", "rbd-nbd: /dev/nbd0 " + NbdMapper.NotMappedText)]
    public async Task UnmapAsync_NotMappedStderr_IsSuccess(string type, string stderr)
    {
        var device = type == "krbd" ? "/dev/rbd0" : "/dev/nbd0";
        var runner = new FakeCommandRunner()
            .On("rbd", ["device", "list"], Ok($$"""[{"id":"0","pool":"rbd","namespace":"","name":"vol1","snap":"-","device":"{{device}}"}]"""))
            .On("rbd", ["device", "unmap"], Fail(22, stderr));
        IBlockMapper mapper = type == "krbd" ? new KrbdMapper(runner, Client, new FakeHostProbe()) : new NbdMapper(runner, Client, new FakeHostProbe());

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

        var mapped = await new NbdMapper(runner, Client, new FakeHostProbe()).ListMappedAsync(CancellationToken.None);

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
        Assert.Null(new NbdMapper(new FakeCommandRunner(), Client, new FakeHostProbe()).SupportedFeatures);
    }
}
