using RbdPlugin.Cli;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Backups;

[Trait("Tier", "Fast")]
public sealed class BackupExitCodeTests
{
    [Fact]
    public void CodeOf_DamagedBackupRefused_IsAFailure1_WithItsOwnMessage()
    {
        var refused = new VolumeException(VolumeErrorKind.Damaged, "refusing to restore backup X: it is corrupt");

        Assert.Equal(1, CliExit.CodeOf(refused));
        Assert.Equal(refused.Message, CliExit.MessageOf(refused));
    }
}
