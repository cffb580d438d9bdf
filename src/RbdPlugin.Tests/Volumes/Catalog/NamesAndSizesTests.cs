using CsCheck;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Catalog;

[Trait("Tier", "Fast")]
public sealed class NamesAndSizesTests
{
    [Theory]
    [InlineData("db1", true)]
    [InlineData("my_vol.v2-a", true)]
    [InlineData("9lives", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("..", false)]
    [InlineData("a/b", false)]
    [InlineData("../etc", false)]
    [InlineData("img@snap", false)]
    [InlineData("white space", false)]
    [InlineData("-flag", false)]
    public void IsValid_FollowsDockersRule(string name, bool valid) => Assert.Equal(valid, VolumeName.IsValid(name));

    [Fact]
    public void IsValid_TooLong_Refused()
    {
        Assert.True(VolumeName.IsValid(new string('a', 128)));
        Assert.False(VolumeName.IsValid(new string('a', 129)));
    }

    [Fact]
    public void Validate_BadName_ExplainsTheRule()
    {
        var e = Assert.Throws<VolumeException>(() => VolumeName.Validate("a/b"));
        Assert.Equal(VolumeErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("letters, digits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidNames_NeverLeaveTheMountRoot() =>
        Gen.String[Gen.Char["abz09_.-/@ "], 1, 20].Sample(name =>
        {
            if (VolumeName.IsValid(name))
            {
                var full = Path.GetFullPath(Path.Combine("/mnt/root", name));
                Assert.StartsWith("/mnt/root/", full, StringComparison.Ordinal);
            }
        });

    [Fact]
    public void Format_ThenParse_RoundTrips() =>
        Gen.ULong[1, 1UL << 60].Sample(bytes =>
        {
            Assert.True(ByteSize.TryParse(ByteSize.Format(bytes), out var parsed));
            Assert.Equal(bytes, parsed);
        });

    [Theory]
    [InlineData(10UL << 30, "10G")]
    [InlineData(1536UL, "1536")]
    [InlineData(1UL << 40, "1T")]
    [InlineData(1536UL << 20, "1536M")]
    public void Format_ShortestExactUnit(ulong bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));

    [Fact]
    public void TryParse_Overflow_Refused() => Assert.False(ByteSize.TryParse("99999999P", out _));
}
