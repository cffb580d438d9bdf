namespace RbdPlugin.Node;

/// <summary>
/// Where the tools the daemon runs by name (rbd, rbd-fuse, losetup, mount, mkfs.*) are looked up. A managed Docker
/// plugin is started with no PATH at all (only what its config.json's env names), and neither .NET's process
/// start nor <see cref="HostProbe.HasProgram"/> would then find anything: the daemon sets the usual one itself.
/// </summary>
internal static class SearchPath
{
    public const string Default = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>PATH as the process has it, or <see cref="Default"/> when it has none (or an empty one).</summary>
    public static string Current => Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : Default;

    /// <summary>Gives the process <see cref="Default"/> as PATH when it has none, so its children inherit it too.</summary>
    public static void EnsureSet()
    {
        if (Environment.GetEnvironmentVariable("PATH") is not { Length: > 0 })
        {
            Environment.SetEnvironmentVariable("PATH", Default);
        }
    }
}
