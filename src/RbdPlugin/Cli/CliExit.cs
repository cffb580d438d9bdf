using RbdPlugin.Ceph;
using RbdPlugin.Hosting;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>Maps a runbook command's failure to its documented exit code (see <see cref="ExitCodes"/>).</summary>
internal static class CliExit
{
    public static int CodeOf(Exception e) => e switch
    {
        OptionsException => ExitCodes.InvalidConfiguration,
        CephException => ExitCodes.CephUnavailable,
        VolumeException v => v.Kind switch
        {
            VolumeErrorKind.InvalidArgument => ExitCodes.InvalidConfiguration,
            VolumeErrorKind.NotFound => ExitCodes.NotFound,
            VolumeErrorKind.Conflict or VolumeErrorKind.InUse => ExitCodes.InUse,
            VolumeErrorKind.Unavailable when v.InnerException is CephException => ExitCodes.CephUnavailable,
            _ => ExitCodes.Failure,
        },
        _ => ExitCodes.Failure,
    };

    /// <summary>The message for the operator; a Ceph connection failure gets the checks to run.</summary>
    public static string MessageOf(Exception e) => e switch
    {
        CephException c => $"cannot reach the Ceph cluster ({c.Message}); check `ceph -s`, the mon addresses in CephConf and the Keyring (--ceph-conf, --keyring, --ceph-id), then retry",
        OptionsException or VolumeException => e.Message,
        _ => $"{e.GetType().Name}: {e.Message}; this is a bug, please report it with the command line",
    };
}
