using System.Globalization;
using System.Text.Json;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>With krbd, Create only uses image features the running kernel maps: the real /sys/bus/rbd/supported_features.</summary>
public sealed class KrbdFeaturesTests(KernelGuest guest) : KernelTest(guest)
{
    [Fact]
    public async Task Create_Default_UsesOnlyFeaturesTheKernelMaps_AndTheVolumeMaps()
    {
        var supported = await SupportedAsync();
        var plugin = await StartPluginAsync("krbd");
        var volume = NewVolume();

        await plugin.CreateAsync(volume, new() { ["size"] = "1G" });

        var info = (await Guest.RbdAsync("info", "--format", "json", $"{KernelGuest.Pool}/{volume}")).EnsureSuccess().Stdout;
        using var doc = JsonDocument.Parse(info);
        var features = doc.RootElement.GetProperty("features").EnumerateArray().Select(f => RbdFeatures.ByName[f.GetString()!]).Aggregate(0UL, (a, b) => a | b);
        Assert.NotEqual(0UL, features & RbdFeatures.Layering);
        Assert.Equal(0UL, features & ~supported);
        await plugin.MountAsync(volume, IdA);
        Assert.Single(await Guest.MappedDevicesAsync("krbd", volume));
        await plugin.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(plugin, volume);
    }

    [Fact]
    public async Task Create_FeatureTheKernelCannotMap_RefusedNamingItAndNoImage()
    {
        var supported = await SupportedAsync();
        Assert.Equal(0UL, supported & RbdFeatures.Journaling); // what this test relies on: stock 6.1 maps no journaling
        var plugin = await StartPluginAsync("krbd");
        var volume = NewVolume();

        var e = await Assert.ThrowsAsync<PluginErrorException>(() =>
            plugin.CreateAsync(volume, new() { ["size"] = "1G", ["features"] = "layering,exclusive-lock,journaling" }));

        Assert.Contains("cannot map journaling", e.Err, StringComparison.Ordinal);
        Assert.NotEqual(0, (await Guest.RbdAsync("info", $"{KernelGuest.Pool}/{volume}")).ExitCode);
    }

    private async Task<ulong> SupportedAsync()
    {
        var text = (await Guest.ExecAsync("cat", "/sys/bus/rbd/supported_features")).EnsureSuccess().Stdout.Trim();
        return ulong.Parse(text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
