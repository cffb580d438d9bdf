using System.Security.Cryptography;
using RbdPlugin.Backups;

namespace RbdPlugin.Tests.Backups;

/// <summary>The copy into rbd import-diff's stdin: exactly the verified bytes, or not the end of them.</summary>
[Trait("Tier", "Fast")]
public sealed class VerifiedCopyTests
{
    private static readonly byte[] Data = RandomNumberGenerator.GetBytes((3 << 20) + 12345); // several blocks and a tail
    private static readonly string Sha = Convert.ToHexStringLower(SHA256.HashData(Data));

    [Fact]
    public async Task CopyAsync_TheVerifiedBytes_AllCopiedNoProblem()
    {
        using var destination = new MemoryStream();

        var problem = await VerifiedCopy.CopyAsync(new MemoryStream(Data), destination, Data.Length, Sha, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(Data, destination.ToArray());
    }

    [Fact]
    public async Task CopyAsync_OneByteChanged_ProblemAndTheLastBlockNeverWritten()
    {
        var changed = (byte[])Data.Clone();
        changed[10] ^= 1;
        using var destination = new MemoryStream();

        var problem = await VerifiedCopy.CopyAsync(new MemoryStream(changed), destination, Data.Length, Sha, CancellationToken.None);

        Assert.Contains("SHA-256", problem, StringComparison.Ordinal);
        Assert.True(destination.Length < Data.Length);
        Assert.Equal(3L << 20, destination.Length); // every full block but the held-back tail
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public async Task CopyAsync_OtherLength_Problem(int delta)
    {
        var other = new byte[Data.Length + delta];
        Array.Copy(Data, other, Math.Min(Data.Length, other.Length));
        using var destination = new MemoryStream();

        var problem = await VerifiedCopy.CopyAsync(new MemoryStream(other), destination, Data.Length, Sha, CancellationToken.None);

        Assert.Contains("bytes", problem, StringComparison.Ordinal);
        Assert.True(destination.Length < Data.Length);
    }
}
