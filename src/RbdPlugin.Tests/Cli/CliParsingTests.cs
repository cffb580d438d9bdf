using RbdPlugin.Cli;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Cli;

[Trait("Tier", "Fast")]
public sealed class CliParsingTests
{
    [Fact]
    public void VolumeCreate_WithOptionsAndCephFlags_Parses()
    {
        var parse = RootCommandFactory.Create().Parse(
            ["volume", "create", "db1", "-o", "size=20G", "-o", "fstype=xfs", "--pool", "fast", "--ceph-id", "ops", "--json"]);

        Assert.Empty(parse.Errors);
        Assert.Equal("create", parse.CommandResult.Command.Name);
    }

    [Theory]
    [InlineData("volume", "inspect")]
    [InlineData("volume", "rm")]
    [InlineData("volume", "takeover")]
    [InlineData("volume", "ls", "--mount-root", "/x")] // only the Ceph flags belong to the runbook commands
    [InlineData("volume", "frobnicate")]
    public void Parse_MissingNameOrUnknownFlag_IsAnError(params string[] args) =>
        Assert.NotEmpty(RootCommandFactory.Create().Parse(args).Errors);

    [Theory]
    [InlineData("db1", "s1", "db1", "s1")]
    [InlineData("db1@s1", null, "db1", "s1")]
    public void SnapshotTarget_TwoArgumentsOrNameAtSnap_SameVolumeAndSnapshot(string name, string? snapshot, string volume, string snap) =>
        Assert.Equal((volume, snap), SnapshotCommand.SplitTarget(name, snapshot));

    [Theory]
    [InlineData("db1", null, "'db1' names no snapshot")]
    [InlineData("db1", "", "'db1' names no snapshot")]
    [InlineData("db1@", null, "no snapshot after the '@'")]
    [InlineData("@s1", null, "no volume before the '@'")]
    [InlineData("a@b@c", null, "'a@b@c' has 2 '@'")]
    [InlineData("db1@s1", "s2", "names the snapshot twice ('s1' and 's2')")]
    public void SnapshotTarget_BadForm_RefusedSayingWhatIsWrongAndBothForms(string name, string? snapshot, string problem)
    {
        var e = Assert.Throws<VolumeException>(() => SnapshotCommand.SplitTarget(name, snapshot));
        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains("NAME SNAPSHOT or NAME@SNAPSHOT", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("db1", "s1@s2")]
    [InlineData("db1@s 1", null)]
    public void SnapshotTarget_BadSnapshotName_RefusedWithTheNamesRule(string name, string? snapshot) =>
        Assert.Contains("invalid snapshot name", Assert.Throws<VolumeException>(() => SnapshotCommand.SplitTarget(name, snapshot)).Message,
            StringComparison.Ordinal);

    [Theory]
    [InlineData("snapshot", "create", "db1@s1", "--json")]
    [InlineData("snapshot", "rm", "db1", "s1")]
    [InlineData("snapshot", "rollback", "db1@s1")]
    [InlineData("volume", "clone", "db1@s1", "db2")]
    [InlineData("volume", "clone", "db1", "s1", "db2", "--size", "2G")]
    public void Parse_SnapshotCommands_TakeEitherForm(params string[] args) =>
        Assert.Empty(RootCommandFactory.Create().Parse(args).Errors);

    [Theory]
    [InlineData("db1@s1", new[] { "db2" })]
    [InlineData("db1", new[] { "s1", "db2" })]
    public void CloneTarget_EitherForm_SameSourceAndNewName(string source, string[] rest) =>
        Assert.Equal(("db1@s1", "db2"), SnapshotCommand.CloneTarget(source, rest));

    [Theory]
    [InlineData("db1", new[] { "db2" })]           // no snapshot
    [InlineData("db1@s1", new[] { "s2", "db2" })]  // both forms
    [InlineData("a@b@c", new[] { "db2" })]
    public void CloneTarget_BadForm_Refused(string source, string[] rest) =>
        Assert.Contains("NAME SNAPSHOT or NAME@SNAPSHOT", Assert.Throws<VolumeException>(() => SnapshotCommand.CloneTarget(source, rest)).Message,
            StringComparison.Ordinal);

    [Fact]
    public async Task InvokeAsync_SnapshotBadForm_RefusedBeforeReadingTheConfiguration()
    {
        // The form is checked first: a missing ceph.conf would otherwise be the error (the same exit code, 2), so
        // the message tells them apart.
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, await RootCommandFactory.InvokeAsync(["snapshot", "rm", "a@b@c", "--ceph-conf", "/nonexistent/ceph.conf"]));
        }
        finally
        {
            Console.SetError(saved);
        }

        Assert.Contains("'a@b@c' has 2 '@'", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_UsageError_ExitsWith2()
    {
        Assert.Equal(2, await RootCommandFactory.InvokeAsync(["volume", "inspect"]));
    }

    [Fact]
    public async Task InvokeAsync_MissingCephConf_ExitsWith2BeforeConnecting()
    {
        Assert.Equal(2, await RootCommandFactory.InvokeAsync(["volume", "ls", "--ceph-conf", "/nonexistent/ceph.conf"]));
    }

    [Fact]
    public void CreateOptionPairs_KeyValues_BecomeDockersOptions() =>
        Assert.Equal(new Dictionary<string, string> { ["size"] = "1G", ["mount-options"] = "noatime,discard=x" },
            CreateOptionPairs.Parse(["size=1G", "mount-options=noatime,discard=x"]));

    [Theory]
    [InlineData("size")]
    [InlineData("=1G")]
    public void CreateOptionPairs_NotKeyValue_InvalidArgument(string pair) =>
        Assert.Equal(VolumeErrorKind.InvalidArgument, Assert.Throws<VolumeException>(() => CreateOptionPairs.Parse([pair])).Kind);

    [Fact]
    public void CreateOptionPairs_SameKeyTwice_InvalidArgument() =>
        Assert.Throws<VolumeException>(() => CreateOptionPairs.Parse(["size=1G", "size=2G"]));

    private static readonly Dictionary<string, ulong> NoLimits = [];

    [Fact]
    public void VolumeTable_NoOwner_ShowsDash_ExpiredOwner_Marked_UsedAndMountedShown()
    {
        var when = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var text = VolumeTable.Format([
            new("db1", "rbd", 1, "1G", null, null, "ext4", null, "none", null, when, NoLimits, false),
            new("db2", "rbd", 1, "2G", 1, "12M", "xfs", "host-a", "expired", null, when, NoLimits, false),
            new("db3", "rbd", 1, "2G", 1, "4M", "xfs", "host-b", "held", "host-b:/var/lib/rbd-plugin/mounts/db3", when, NoLimits, false),
        ]);

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "POOL", "SIZE", "USED", "FSTYPE", "OWNER", "MOUNTED", "CREATED"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["db1", "rbd", "1G", "-", "ext4", "-", "-", "2026-01-02T03:04:05Z"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("host-a (expired)", lines[2], StringComparison.Ordinal);
        Assert.Equal(["db3", "rbd", "2G", "4M", "xfs", "host-b", "host-b:/var/lib/rbd-plugin/mounts/db3", "2026-01-02T03:04:05Z"],
            lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void TrashTable_SizeUnknown_ShowsDash_TimesInUtc()
    {
        var removed = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));

        var text = TrashCommand.Table([new("db1", "11b07b71c9ad", "rbd", null, null, removed, removed.AddDays(7))]);

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "IMAGE-ID", "POOL", "SIZE", "REMOVED", "EXPIRES"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["db1", "11b07b71c9ad", "rbd", "-", "2026-01-02T01:04:05Z", "2026-01-09T01:04:05Z"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
