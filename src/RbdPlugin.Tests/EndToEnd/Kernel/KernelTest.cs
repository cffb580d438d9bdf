using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// Base of the Kernel-tier tests: the shared guest, daemons started for one test, and cleanup of everything they
/// left (mounts, mappings, images) whatever the outcome. All in one collection: one emulated guest, one test at a time.
/// </summary>
[Collection(SharedKernelGuest.Name)]
[Trait("Tier", "Kernel")]
public abstract class KernelTest(KernelGuest guest) : IAsyncLifetime
{
    protected const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    protected const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// <summary>Unmount is released after this grace; short, so tests need not wait.</summary>
    protected const string Grace = "200ms";

    private readonly List<GuestPlugin> _plugins = [];
    private readonly List<string> _volumes = [];
    private readonly List<int> _namespaces = [];

    public KernelGuest Guest { get; } = guest;

    /// <summary>A fresh volume name, cleaned up after the test.</summary>
    protected string NewVolume()
    {
        var name = "k-" + Guid.NewGuid().ToString("N")[..10];
        _volumes.Add(name);
        return name;
    }

    /// <summary>A mount namespace of its own for a second "host", ended after the test.</summary>
    internal async Task<int> NewHostNamespaceAsync()
    {
        var pid = await Guest.NewMountNamespaceAsync();
        _namespaces.Add(pid);
        return pid;
    }

    /// <summary>A daemon for this test (named after the test, so its log is easy to find on the share).</summary>
    internal async Task<GuestPlugin> StartPluginAsync(string mapper, string hostId = "host-a", int? mountNamespaceOf = null, params string[] extraArgs)
    {
        var plugin = new GuestPlugin(Guest, $"{GetType().Name}-{mapper}-{hostId}-{_plugins.Count}", mapper, hostId, ["--unmount-grace", Grace, .. extraArgs])
        {
            Namespace = mountNamespaceOf,
        };
        _plugins.Add(plugin);
        await plugin.StartAsync();
        return plugin;
    }

    /// <summary>The same host started again after a crash or stop: same dirs, a new process.</summary>
    internal async Task<GuestPlugin> RestartAsync(GuestPlugin old, params string[] extraArgs)
    {
        var plugin = new GuestPlugin(Guest, old.Name, old.Mapper, old.HostId, ["--unmount-grace", Grace, .. extraArgs]) { Namespace = old.Namespace };
        _plugins.Add(plugin);
        await plugin.StartAsync();
        return plugin;
    }

    /// <summary>Waits until the volume's mount is gone and no mapping of its image is left anywhere in the kernel.</summary>
    internal async Task WaitReleasedAsync(GuestPlugin plugin, string volume)
    {
        await KernelGuest.WaitUntilAsync(async () => await Guest.MountSourceAsync(plugin.MountpointOf(volume), plugin.Namespace) is null,
            TimeSpan.FromSeconds(60), $"{volume} to be unmounted");
        await KernelGuest.WaitUntilAsync(async () => (await Guest.MappedDevicesAsync(plugin.Mapper, volume)).Count == 0,
            TimeSpan.FromSeconds(60), $"the {plugin.Mapper} mapping of {volume} to be released");
        Assert.Equal("", await Guest.KernelTracesAsync(volume));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // The quick way first: a live daemon removes an unmounted volume in one request (image, index entry, lease),
        // where the same by hand costs three or more CLI runs of a second or more each in the guest.
        var left = new List<string>();
        var live = _plugins.LastOrDefault(p => p.Pid is not null);
        foreach (var volume in _volumes)
        {
            try
            {
                if (live is null)
                {
                    left.Add(volume);
                    continue;
                }

                await live.RemoveAsync(volume);
            }
            catch (PluginErrorException e) when (e.Err.StartsWith("no such volume", StringComparison.Ordinal))
            {
            }
            catch (Exception e) when (e is PluginErrorException or IOException or TimeoutException or InvalidOperationException)
            {
                left.Add(volume);
            }
        }

        foreach (var plugin in Enumerable.Reverse(_plugins))
        {
            await plugin.CleanUpAsync();
        }

        // Whatever the daemon could not remove (still mounted or mapped after a failure), and its traces in the kernel.
        await Guest.RemoveVolumesAsync(left);
        foreach (var pid in _namespaces)
        {
            // Mounts left in the namespace go with it (lazily, once nothing uses them).
            await Guest.ExecAsync("kill", "-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
