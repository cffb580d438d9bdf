using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// What krbd and rbd-nbd share: both are driven through <c>rbd device map|unmap|list -t TYPE</c>. Map and unmap
/// consult the device list first, so both are idempotent without scraping stderr; the known "not mapped" texts are
/// only the fallback for a race with someone else unmapping the same device.
/// </summary>
internal abstract class RbdDeviceMapper(ICommandRunner runner, CephClientArgs client) : IBlockMapper
{
    public abstract string Name { get; }

    public abstract ulong? SupportedFeatures { get; }

    /// <summary>The value of rbd's -t/--device-type: "krbd" or "nbd".</summary>
    protected abstract string DeviceType { get; }

    /// <summary>stderr texts of <c>rbd device unmap</c> that mean "this device is already not mapped".</summary>
    protected abstract IReadOnlyList<string> NotMappedTexts { get; }

    public async Task<MappedDevice> MapAsync(ImageRef image, CancellationToken ct)
    {
        var existing = Find(await ListAsync(ct), image, device: null);
        if (existing is not null)
        {
            return existing;
        }
        // rbd device map -t TYPE -c CONF --id ID --keyring KEYRING pool/[ns/]image
        var result = await runner.RunAsync("rbd", MapArgs(DeviceType, client, image), ct);
        var device = result.Stdout.Trim();
        if (!device.StartsWith("/dev/", StringComparison.Ordinal))
        {
            throw new HostCommandException(SecretRedactor.CommandLine("rbd", MapArgs(DeviceType, client, image)), 0, "",
                $"rbd device map {image} printed no device path: '{HostCommandException.Bounded(SecretRedactor.Text(device), 200)}'");
        }
        return new MappedDevice(image, device, Name);
    }

    /// <summary>Nothing to do: krbd and rbd-nbd watch the image header and resize the device when the image grows.</summary>
    public Task RefreshSizeAsync(MappedDevice device, CancellationToken ct) => Task.CompletedTask;

    public async Task UnmapAsync(MappedDevice device, CancellationToken ct)
    {
        // The device number may have been reused by another image since the journal recorded it: only unmap a
        // device the list says still carries this image.
        if (Find(await ListAsync(ct), device.Image, device.DevicePath) is null)
        {
            return;
        }
        // rbd device unmap -t TYPE -c CONF --id ID --keyring KEYRING /dev/DEV
        var args = UnmapArgs(DeviceType, client, device.DevicePath);
        var result = await runner.TryRunAsync("rbd", args, ct);
        if (result.Succeeded || IsNotMapped(result.Stderr, NotMappedTexts))
        {
            return;
        }
        if (Find(await ListAsync(ct), device.Image, device.DevicePath) is null)
        {
            return; // unmapped by someone else while we tried
        }
        throw HostCommandException.FromExit("rbd", args, result);
    }

    /// <summary>
    /// Nothing to end: krbd fails I/O by itself once its client is blocklisted, and unmapping an rbd-nbd device
    /// disconnects it, which fails its pending I/O. (Neither runs on this project's test machines.)
    /// </summary>
    public Task AbandonAsync(MappedDevice device, CancellationToken ct) => Task.CompletedTask;

    public async Task<IReadOnlyList<MappedDevice>> ListMappedAsync(CancellationToken ct) =>
        [.. (await ListAsync(ct)).Where(e => e.Snap.Length == 0).Select(e => new MappedDevice(e.Image, e.Device, Name))];

    private async Task<IReadOnlyList<RbdDeviceEntry>> ListAsync(CancellationToken ct)
    {
        // rbd device list -t TYPE --format json
        var result = await runner.RunAsync("rbd", ListArgs(DeviceType, client), ct);
        return RbdDeviceList.Parse(result.Stdout);
    }

    private MappedDevice? Find(IReadOnlyList<RbdDeviceEntry> entries, ImageRef image, string? device) =>
        entries.Where(e => e.Image == image && e.Snap.Length == 0 && (device is null || e.Device == device))
            .Select(e => new MappedDevice(e.Image, e.Device, Name))
            .FirstOrDefault();

    internal static IReadOnlyList<string> MapArgs(string deviceType, CephClientArgs client, ImageRef image) =>
        ["device", "map", "-t", deviceType, .. client.ToArgs(), image.ToString()];

    internal static IReadOnlyList<string> UnmapArgs(string deviceType, CephClientArgs client, string device) =>
        ["device", "unmap", "-t", deviceType, .. client.ToArgs(), device];

    internal static IReadOnlyList<string> ListArgs(string deviceType, CephClientArgs client) =>
        ["device", "list", "-t", deviceType, .. client.ToArgs(), "--format", "json"];

    internal static bool IsNotMapped(string stderr, IReadOnlyList<string> texts) =>
        texts.Any(t => stderr.Contains(t, StringComparison.Ordinal));
}
