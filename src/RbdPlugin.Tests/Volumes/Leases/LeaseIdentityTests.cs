using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Leases;

[Trait("Tier", "Fast")]
public sealed class LeaseIdentityTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("rbd-plugin-identity-").FullName;
    private readonly string _clone = Directory.CreateTempSubdirectory("rbd-plugin-identity-clone-").FullName;

    public void Dispose()
    {
        Directory.Delete(_state, recursive: true);
        Directory.Delete(_clone, recursive: true);
    }

    [Fact]
    public void ForDaemon_SameStateDirMachineAndBoot_SameCookie_SoARestartRetakesItsOwnLock()
    {
        var first = LeaseIdentity.ForDaemon("host-a", _state, "machine-1", "boot-1");
        var restarted = LeaseIdentity.ForDaemon("host-a", _state, "machine-1", "boot-1");

        Assert.Equal(first.Cookie, restarted.Cookie);
        Assert.StartsWith("host-a/", first.Cookie, StringComparison.Ordinal);
    }

    [Fact]
    public void ForDaemon_VmClonedWithItsStateDirAndHostname_GetsAnotherCookie()
    {
        // Arrange: the clone has a copy of the state dir (same random token) and the same host id
        var original = LeaseIdentity.ForDaemon("host-a", _state, "machine-1", "boot-1");
        File.Copy(Path.Combine(_state, "lease-token"), Path.Combine(_clone, "lease-token"));

        // Act: it booted on its own; a careless clone even keeps the machine id
        var clone = LeaseIdentity.ForDaemon("host-a", _clone, "machine-1", "boot-2");

        // Assert: its lock is never mistaken for the original's, so it must fence before breaking one
        Assert.NotEqual(original.Cookie, clone.Cookie);
    }

    [Fact]
    public void ForDaemon_AnotherMachineWithTheSameHostIdAndToken_GetsAnotherCookie()
    {
        var a = LeaseIdentity.ForDaemon("host-a", _state, "machine-1", "boot-1");
        var b = LeaseIdentity.ForDaemon("host-a", _state, "machine-2", "boot-1");

        Assert.NotEqual(a.Cookie, b.Cookie);
    }

    [Fact]
    public void ForDaemon_TwoStateDirsOnOneMachine_TwoCookies()
    {
        var a = LeaseIdentity.ForDaemon("host-a", _state, "machine-1", "boot-1");
        var b = LeaseIdentity.ForDaemon("host-a", _clone, "machine-1", "boot-1");

        Assert.NotEqual(a.Cookie, b.Cookie);
    }

    [Fact]
    public void ForDaemon_OnThisMachine_ReadsItsBootId()
    {
        var here = LeaseIdentity.ForDaemon("host-a", _state);
        var withoutBoot = LeaseIdentity.ForDaemon("host-a", _state, File.Exists(LeaseIdentity.MachineIdPath)
            ? File.ReadAllText(LeaseIdentity.MachineIdPath).Trim() : "", "");

        Assert.NotEqual(withoutBoot.Cookie, here.Cookie);
    }
}
