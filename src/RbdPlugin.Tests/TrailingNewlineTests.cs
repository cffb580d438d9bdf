using RbdPlugin.Backups;
using RbdPlugin.Hosting;
using RbdPlugin.Tests.Backups;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests;

/// <summary>
/// In .NET, a pattern's <c>$</c> also matches before a final newline, so <c>^[a-z]+$</c> accepts "db1\n". Every
/// name-shaped input is anchored with <c>\z</c>: a trailing newline is refused wherever a name can enter: Docker's
/// verbs, clone sources, options, backup ids and directories, and the settings.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class TrailingNewlineTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly DriverHarness _h = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void EveryGeneratedRegex_EndAnchoredWithBackslashZ_NeverDollar()
    {
        var patterns = typeof(VolumeName).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public))
            .Select(m => m.GetCustomAttributes(typeof(System.Text.RegularExpressions.GeneratedRegexAttribute), false).OfType<System.Text.RegularExpressions.GeneratedRegexAttribute>().FirstOrDefault())
            .OfType<System.Text.RegularExpressions.GeneratedRegexAttribute>()
            .Select(a => a.Pattern)
            .ToList();

        Assert.NotEmpty(patterns);
        Assert.All(patterns, p => Assert.False(p.EndsWith('$'), $"pattern {p} ends with $, which also matches before a final newline: use \\z"));
    }

    [Theory]
    [InlineData("db1\n")]
    [InlineData("db1\r\n")]
    public void VolumeAndSnapshotNames_TrailingNewline_Invalid(string name)
    {
        Assert.False(VolumeName.IsValid(name));
        Assert.False(SnapshotName.IsValid(name));
        Assert.Equal(VolumeErrorKind.InvalidArgument, Assert.Throws<VolumeException>(() => VolumeName.Validate(name)).Kind);
    }

    [Fact]
    public async Task DockerVerbs_NameWithTrailingNewline_RefusedAndNothingCreated()
    {
        Assert.Equal(VolumeErrorKind.InvalidArgument, (await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1\n", null, _ct))).Kind);
        Assert.Equal(VolumeErrorKind.InvalidArgument, (await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.MountAsync("db1\n", IdA, _ct))).Kind);
        Assert.Equal(VolumeErrorKind.InvalidArgument, (await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.RemoveAsync("db1\n", _ct))).Kind);
        Assert.Null(await _h.Driver.GetAsync("db1\n", _ct));
        Assert.Empty(_h.Ceph.Images);
        Assert.Empty(_h.Host.Log);
    }

    [Theory]
    [InlineData("db1\n@snap")]
    [InlineData("db1@snap\n")]
    public async Task Create_CloneSourceWithTrailingNewline_Refused(string source)
    {
        await _h.Driver.CreateAsync("db1", null, _ct);

        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db2", new Dictionary<string, string> { ["from-snapshot"] = source }, _ct));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public async Task Create_DataPoolWithTrailingNewline_Refused()
    {
        var e = await Assert.ThrowsAsync<VolumeException>(() => _h.Driver.CreateAsync("db1", new Dictionary<string, string> { ["data-pool"] = "ec\n" }, _ct));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Empty(_h.Ceph.Images);
    }

    [Fact]
    public void BackupId_TrailingNewline_Invalid() => Assert.False(BackupId.IsValid(BackupFiles.Id(1) + "\n"));

    [Fact]
    public async Task BackupRestore_AtIdWithTrailingNewline_InvalidArgument()
    {
        using var rbd = new FakeRbd();
        var id = BackupFiles.Chain(rbd.Root, "db1", 1)[0];

        var e = await Assert.ThrowsAsync<VolumeException>(() => rbd.Restorer().RestoreAsync(rbd.Dir, "db2", id + "\n", _ct));

        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void BackupDirectory_VolumeDirectoryNamedWithANewline_NotAVolume()
    {
        using var rbd = new FakeRbd();
        Directory.CreateDirectory(Path.Combine(rbd.Root, "db1\n"));

        Assert.Empty(rbd.Dir.Volumes());
    }

    [Theory]
    [InlineData("Pool")]
    [InlineData("Namespace")]
    [InlineData("CephId")]
    [InlineData("HostId")]
    [InlineData("AllowedPools")]
    public void Settings_NameWithTrailingNewline_Refused(string setting)
    {
        var options = new PluginOptions();
        switch (setting)
        {
            case "Pool": options.Pool = "rbd\n"; break;
            case "Namespace": options.Namespace = "tenant\n"; break;
            case "CephId": options.CephId = "docker\n"; break;
            case "HostId": options.HostId = "host-a\n"; break;
            default: options.AllowedPools = ["rbd-extra\n"]; break;
        }

        var e = Assert.Throws<OptionsException>(() => OptionsValidator.Validate(options, checkFiles: false));

        Assert.Contains(setting, e.Message, StringComparison.Ordinal);
    }
}
