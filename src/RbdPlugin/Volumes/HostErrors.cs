using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// Turns a failed host command (map, mkfs, mount...) into a user-facing error that carries the command line, the
/// exit code and stderr (already stripped of secrets), instead of an opaque "internal error".
/// </summary>
internal static class HostErrors
{
    public static async Task<T> Guard<T>(string what, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HostCommandException e)
        {
            throw new VolumeException(VolumeErrorKind.HostCommandFailed, $"{what} failed: {e.Message}", e);
        }
    }

    public static Task Guard(string what, Func<Task> call) => Guard(what, async () =>
    {
        await call();
        return true;
    });
}
