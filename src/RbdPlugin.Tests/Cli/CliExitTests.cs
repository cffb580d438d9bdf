using RbdPlugin.Ceph;
using RbdPlugin.Cli;
using RbdPlugin.Hosting;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Cli;

[Trait("Tier", "Fast")]
public sealed class CliExitTests
{
    public static TheoryData<Exception, int> Cases => new()
    {
        { new OptionsException("Pool=x: bad"), 2 },
        { new VolumeException(VolumeErrorKind.InvalidArgument, "bad option"), 2 },
        { new CephException("rados_connect", Errno.ETIMEDOUT), 3 },
        { new VolumeException(VolumeErrorKind.Unavailable, "no answer", new CephException("x", Errno.ETIMEDOUT)), 3 },
        { new VolumeException(VolumeErrorKind.NotFound, "no such volume"), 4 },
        { new VolumeException(VolumeErrorKind.InUse, "mounted on host-a"), 5 },
        { new VolumeException(VolumeErrorKind.Conflict, "exists with other options"), 5 },
        { new VolumeException(VolumeErrorKind.HostCommandFailed, "mkfs failed"), 1 },
        { new InvalidOperationException("boom"), 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CodeOf_EachFailureKind_MapsToItsDocumentedExitCode(Exception e, int expected) =>
        Assert.Equal(expected, CliExit.CodeOf(e));

    [Fact]
    public void ExitCodes_AreTheDocumentedNumbers() =>
        Assert.Equal([0, 1, 2, 3, 4, 5],
            [ExitCodes.Ok, ExitCodes.Failure, ExitCodes.InvalidConfiguration, ExitCodes.CephUnavailable, ExitCodes.NotFound, ExitCodes.InUse]);

    [Fact]
    public void MessageOf_CephUnreachable_SaysWhatToCheck() =>
        Assert.Contains("check `ceph -s`", CliExit.MessageOf(new CephException("rados_connect", Errno.ETIMEDOUT)), StringComparison.Ordinal);
}
