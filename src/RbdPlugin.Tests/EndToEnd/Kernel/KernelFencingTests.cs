using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// Invariant 1's second half on the real mappers: fencing one volume never breaks another volume's I/O. krbd
/// shares one kernel Ceph client between all images of a host unless each is mapped with noshare; blocklisting
/// that shared client for one volume would fail every volume. A fenced device must also be released without
/// hanging.
/// </summary>
public sealed class KernelFencingTests(KernelGuest guest) : KernelTest(guest)
{
    public static TheoryData<string> Mappers => ["krbd", "nbd"];

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task BlocklistingOneVolumesClient_FailsOnlyThatVolume_AndItIsReleasedWithoutHanging(string mapper)
    {
        var plugin = await StartPluginAsync(mapper);
        var (one, two) = (NewVolume(), NewVolume());
        await plugin.CreateAsync(one, new() { ["size"] = "1G" });
        await plugin.CreateAsync(two, new() { ["size"] = "1G" });
        var mountOne = await plugin.MountAsync(one, IdA);
        var mountTwo = await plugin.MountAsync(two, IdA);
        var clientOne = await ClientAddressAsync(mapper, one);
        var clientTwo = await ClientAddressAsync(mapper, two);
        Assert.NotEqual(clientOne, clientTwo); // one Ceph client per mapping

        (await Guest.CephAdminAsync("osd", "blocklist", "add", clientOne)).EnsureSuccess();
        try
        {
            var two1 = await Guest.WriteRandomAsync($"{mountTwo}/after-fence", mib: 4);
            var fenced = await Guest.Agent.ExecAsync(
                ["timeout", "60", "dd", "if=/dev/urandom", $"of={mountOne}/after-fence", "bs=1M", "count=4", "oflag=direct", "conv=fsync", "status=none"],
                TimeSpan.FromSeconds(90));

            Assert.NotEqual(0, fenced.ExitCode);
            Assert.NotEqual(124, fenced.ExitCode); // failed, not hung
            Assert.Equal(two1, await Guest.Sha256Async($"{mountTwo}/after-fence"));

            await plugin.UnmountAsync(one, IdA);
            await WaitReleasedAsync(plugin, one);
            await plugin.UnmountAsync(two, IdA);
            await WaitReleasedAsync(plugin, two);
        }
        finally
        {
            await Guest.CephAdminAsync("osd", "blocklist", "rm", clientOne);
        }
    }

    /// <summary>
    /// The address of the Ceph client serving the volume's mapping: krbd shows it in sysfs; rbd-nbd's librbd is the
    /// image's one watcher once the daemon itself has closed the image.
    /// </summary>
    private async Task<string> ClientAddressAsync(string mapper, string volume)
    {
        var device = Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        if (mapper == "krbd")
        {
            var id = device["/dev/rbd".Length..];
            return (await Guest.ExecAsync("cat", $"/sys/bus/rbd/devices/{id}/client_addr")).EnsureSuccess().Stdout.Trim();
        }

        var status = (await Guest.RbdAsync("status", "--format", "json", $"{KernelGuest.Pool}/{volume}")).EnsureSuccess().Stdout;
        using var doc = JsonDocument.Parse(status);
        var watcher = Assert.Single(doc.RootElement.GetProperty("watchers").EnumerateArray());
        return watcher.GetProperty("address").GetString()!;
    }
}
