using System.Text;
using RbdPlugin.Backups;

namespace RbdPlugin.Tests.Backups;

[Trait("Tier", "Fast")]
public sealed class RbdDiffHeaderTests
{
    [Fact]
    public void Parse_Incremental_HasFromToAndSize() =>
        Assert.Equal(new RbdDiffHeader("s1", "s2", 64UL << 20), RbdDiffHeader.Parse(BackupFiles.Diff("s1", "s2", 64UL << 20, [1, 2, 3])));

    [Fact]
    public void Parse_Full_HasNoFrom() =>
        Assert.Equal(new RbdDiffHeader(null, "s1", 4096), RbdDiffHeader.Parse(BackupFiles.Diff(null, "s1", 4096, [])));

    [Fact]
    public void Parse_WhatRbdExportDiffWrote_ReadsIt()
    {
        // The first bytes of a real `rbd export-diff --from-snap s1 rbd/img@s2` from the dev cluster.
        byte[] real = [.. Encoding.ASCII.GetBytes("rbd diff v1\n"), 0x66, 2, 0, 0, 0, 0x73, 0x31, 0x74, 2, 0, 0, 0, 0x73, 0x32, 0x73, 0, 0, 0, 4, 0, 0, 0, 0, 0x77];

        Assert.Equal(new RbdDiffHeader("s1", "s2", 64UL << 20), RbdDiffHeader.Parse(real));
    }

    [Theory]
    [InlineData(0, "does not start with")]
    [InlineData(14, "ends early")]
    [InlineData(30, "ends early")]
    public void Parse_Truncated_SaysSo(int keep, string expected)
    {
        var bytes = BackupFiles.Diff("s1", "s2", 1, []).AsSpan(0, keep).ToArray();

        Assert.Contains(expected, Assert.Throws<FormatException>(() => RbdDiffHeader.Parse(bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NotADiff_Refused() =>
        Assert.Contains("not an rbd export-diff file",
            Assert.Throws<FormatException>(() => RbdDiffHeader.Parse(Encoding.ASCII.GetBytes("rbd image v2\nxxxx"))).Message, StringComparison.Ordinal);
}
