using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;

namespace RbdPlugin.Tests.Node;

/// <summary>The cryptsetup commands: arguments as arrays, the passphrase on stdin only, exit codes classified.</summary>
[Trait("Tier", "Fast")]
public sealed class CryptSetupTests : IDisposable
{
    private static readonly byte[] Passphrase = [.. Enumerable.Range(0, 32).Select(i => (byte)(i + 100))];
    private readonly FakeCommandRunner _runner = new();
    private readonly string _sys = Directory.CreateTempSubdirectory("rbd-plugin-sys-").FullName;
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => Directory.Delete(_sys, recursive: true);

    private CryptSetup Crypt => new(_runner, _sys);

    private void OpenInSysfs(string dm, string name, string slave)
    {
        Directory.CreateDirectory(Path.Combine(_sys, dm, "dm"));
        Directory.CreateDirectory(Path.Combine(_sys, dm, "slaves", slave));
        File.WriteAllText(Path.Combine(_sys, dm, "dm", "name"), name + "\n");
        File.WriteAllText(Path.Combine(_sys, dm, "dm", "uuid"), "CRYPT-LUKS2-0123-" + name + "\n");
    }

    [Fact]
    public async Task Format_PassphraseGoesOnStdinOnly_Luks2WithACheapKdf()
    {
        _runner.On("cryptsetup", ["luksFormat"], FakeCommandRunner.Ok());

        await Crypt.FormatAsync("/dev/rbd0", Passphrase, _ct);

        var (args, input) = Assert.Single(_runner.Inputs);
        Assert.Equal(["luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file=-", "/dev/rbd0"], args);
        Assert.Equal(Passphrase, input);
        Assert.All(_runner.Calls, c => Assert.Null(c.Env));
    }

    [Fact]
    public async Task Open_WrongPassphrase_SaysSoWithoutThePassphrase()
    {
        _runner.On("cryptsetup", ["open"], FakeCommandRunner.Fail(2, "No key available with this passphrase."));

        var e = await Assert.ThrowsAsync<HostCommandException>(() => Crypt.OpenAsync("/dev/rbd0", "rbd-plugin-x", Passphrase, _ct));

        Assert.Contains("does not open with the volume's passphrase", e.Message, StringComparison.Ordinal);
        Assert.Equal(["open", "--type", "luks2", "--key-file=-", "/dev/rbd0", "rbd-plugin-x"], _runner.Inputs.Single().Args);
        Assert.DoesNotContain(Convert.ToBase64String(Passphrase), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_AlreadyOpenOverTheSameDevice_IsSuccessWithoutACommand()
    {
        OpenInSysfs("dm-0", "rbd-plugin-x", "rbd0");

        Assert.Equal("/dev/mapper/rbd-plugin-x", await Crypt.OpenAsync("/dev/rbd0", "rbd-plugin-x", Passphrase, _ct));
        Assert.Empty(_runner.Calls);
        await Assert.ThrowsAsync<HostCommandException>(() => Crypt.OpenAsync("/dev/rbd1", "rbd-plugin-x", Passphrase, _ct));
    }

    [Fact]
    public async Task Close_NotOpen_IsSuccessWithoutACommand_OpenIsClosed()
    {
        await Crypt.CloseAsync("rbd-plugin-x", deferred: false, _ct);
        Assert.Empty(_runner.Calls);

        OpenInSysfs("dm-3", "rbd-plugin-x", "nbd0");
        _runner.On("cryptsetup", ["close"], FakeCommandRunner.Ok());
        await Crypt.CloseAsync("rbd-plugin-x", deferred: true, _ct);
        Assert.Equal(["close", "--deferred", "rbd-plugin-x"], _runner.Calls.Single().Args);
    }

    [Fact]
    public void ListOpen_OnlyCryptDevicesWithThePrefix_WithTheirBackingDevice()
    {
        OpenInSysfs("dm-0", "rbd-plugin-a", "rbd0");
        OpenInSysfs("dm-1", "someone-else", "sda");
        Directory.CreateDirectory(Path.Combine(_sys, "dm-2", "dm"));
        File.WriteAllText(Path.Combine(_sys, "dm-2", "dm", "name"), "rbd-plugin-lvm\n");
        File.WriteAllText(Path.Combine(_sys, "dm-2", "dm", "uuid"), "LVM-xyz\n");

        Assert.Equal([new CryptMapping("rbd-plugin-a", "/dev/rbd0")], Crypt.ListOpen("rbd-plugin-"));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public async Task IsLuks_ExitCodes(int exit, bool luks)
    {
        _runner.On("cryptsetup", ["isLuks"], new CommandResult(exit, "", exit == 1 ? "Device /dev/rbd0 is not a valid LUKS device." : ""));

        Assert.Equal(luks, await Crypt.IsLuksAsync("/dev/rbd0", _ct));
    }

    [Fact]
    public async Task IsLuks_DeviceCannotBeOpened_IsAnErrorNotNo()
    {
        _runner.On("cryptsetup", ["isLuks"], FakeCommandRunner.Fail(4, "Device /dev/rbd0 does not exist or access denied."));

        await Assert.ThrowsAsync<HostCommandException>(() => Crypt.IsLuksAsync("/dev/rbd0", _ct));
    }
}
