using RbdPlugin.Ceph;

namespace RbdPlugin.Node;

/// <summary>
/// What krbd and rbd-nbd share: both are driven through <c>rbd device map|unmap|list -t TYPE</c>. Map and unmap
/// consult the device list first, so both are idempotent without scraping stderr; the known "not mapped" texts are
/// only the fallback for a race with someone else unmapping the same device.
/// </summary>
internal abstract class RbdDeviceMapper(ICommandRunner runner, CephClientArgs client, IHostProbe host) : IBlockMapper
{
    /// <summary>Bound of each command the undo of a failed map runs (it runs even when the caller gave up).</summary>
    private static readonly TimeSpan UndoTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Bound of the read that tells a dead (fenced) leftover mapping from a live one.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(15);

    public abstract string Name { get; }

    public abstract ulong? SupportedFeatures { get; }

    public abstract bool AppliesIoLimits { get; }

    public bool OpensEncrypted => true;

    /// <summary>The value of rbd's -t/--device-type: "krbd" or "nbd".</summary>
    protected abstract string DeviceType { get; }

    /// <summary>stderr texts of <c>rbd device unmap</c> that mean "this device is already not mapped".</summary>
    protected abstract IReadOnlyList<string> NotMappedTexts { get; }

    protected ICommandRunner Runner => runner;

    protected CephClientArgs Client => client;

    protected IHostProbe Host => host;

    /// <summary>The -o options of <c>rbd device map</c> on this host now.</summary>
    protected abstract IReadOnlyList<string> MapOptions();

    /// <summary>Flags of <c>rbd device map</c> besides -o (rbd-nbd's --show-cookie).</summary>
    protected virtual IReadOnlyList<string> MapFlags => [];

    /// <summary>The -o options of <c>rbd device unmap</c> on this host now; <paramref name="force"/> for a lost device.</summary>
    protected abstract IReadOnlyList<string> UnmapOptions(bool force);

    /// <summary>
    /// Maps the image afresh. A mapping of it that is already there is not this mount's (the caller maps only what
    /// its journal does not hold): left over by a crash between map and journal, or by an undo that failed. Its
    /// client may be blocklisted since (this host was fenced and came back), and a fenced kernel client never
    /// recovers, so it is unmapped rather than reused. One that something holds open is unmapped by nobody here:
    /// if it can no longer read (its client was fenced, e.g. by this very Mount's takeover) it is dead and harmless
    /// and a new mapping is made beside it for its old owner to release; if it still reads, someone on this host uses
    /// the image outside the plugin, and the map is refused. A map that fails, times out or is cancelled is undone:
    /// the device the kernel made meanwhile is found by image in the device list (the CLI may have been killed
    /// before printing it) and unmapped.
    /// </summary>
    public async Task<MappedDevice> MapAsync(ImageRef image, CancellationToken ct)
    {
        var leftAlone = new List<string>();
        foreach (var leftover in Matching(await ListAsync(ct), image, device: null))
        {
            if (!await ReleaseLeftoverAsync(leftover, ct))
            {
                leftAlone.Add(leftover.Device);
            }
        }

        // rbd device map -t TYPE [FLAGS] [-o OPTIONS] -c CONF --id ID --keyring KEYRING pool/[ns/]image
        var args = MapArgs(DeviceType, client, image, MapOptions(), MapFlags);
        string[] printed;
        try
        {
            // "/dev/rbd0", or with --show-cookie "/dev/nbd0 COOKIE"
            var stdout = (await runner.RunAsync("rbd", args, ct)).Stdout.Trim();
            printed = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (printed.Length is 0 or > 2 || !printed[0].StartsWith("/dev/", StringComparison.Ordinal))
            {
                throw new HostCommandException(SecretRedactor.CommandLine("rbd", args), 0, "",
                    $"rbd device map {image} printed no device path: '{HostCommandException.Bounded(SecretRedactor.Text(stdout), 200)}'");
            }
        }
        catch (Exception e) when (e is HostCommandException or OperationCanceledException)
        {
            var undo = await UndoMapAsync(image, leftAlone);
            if (undo is null)
            {
                throw;
            }

            throw new HostCommandException(SecretRedactor.CommandLine("rbd", args), null, "", $"{e.Message}; and undoing it failed: {undo}", e);
        }

        return new MappedDevice(image, printed[0], Name, printed.Length == 2 ? printed[1] : null);
    }

    /// <summary>krbd watches the image header and resizes the device when the image grows (so does rbd-nbd mapped
    /// through ioctl; through netlink, see <see cref="NbdMapper"/>).</summary>
    public virtual Task RefreshSizeAsync(MappedDevice device, CancellationToken ct) => Task.CompletedTask;

    public virtual bool RefreshRenewsClient(MappedDevice device) => false;

    public async Task UnmapAsync(MappedDevice device, CancellationToken ct)
    {
        // The device number may have been reused by another image since the journal recorded it: only unmap a
        // device the list says still carries this image, or one the kernel still holds for this very mapping
        // (its server died; unmapping it fails its waiting I/O now instead of at the end of the reattach timeout).
        if (Matching(await ListAsync(ct), device.Image, device.DevicePath).Count == 0 && !AwaitsReattach(device))
        {
            return;
        }

        await UnmapListedAsync(device, force: false, ct);
    }

    /// <summary>Ends the Ceph client serving a device this host lost; see <see cref="IBlockMapper.AbandonAsync"/>.</summary>
    public abstract Task AbandonAsync(MappedDevice device, CancellationToken ct);

    public async Task<IReadOnlyList<MappedDevice>> ListMappedAsync(CancellationToken ct) =>
        [.. (await ListAsync(ct)).Where(e => e.Snap.Length == 0).Select(e => new MappedDevice(e.Image, e.Device, Name, e.Cookie.Length > 0 ? e.Cookie : null))];

    public virtual bool AwaitsReattach(MappedDevice device) => false;

    public virtual Task ReattachAsync(MappedDevice device, CancellationToken ct) =>
        throw new NotSupportedException($"the {Name} mapper cannot re-attach a device");

    /// <summary>The list rows of the image's head (optionally at one device).</summary>
    protected async Task<IReadOnlyList<RbdDeviceEntry>> ListAsync(CancellationToken ct, TimeSpan? timeout = null)
    {
        // rbd device list -t TYPE --format json
        var result = await runner.RunAsync("rbd", ListArgs(DeviceType, client), ct, timeout: timeout);
        return RbdDeviceList.Parse(result.Stdout);
    }

    protected static IReadOnlyList<RbdDeviceEntry> Matching(IReadOnlyList<RbdDeviceEntry> entries, ImageRef image, string? device) =>
        [.. entries.Where(e => e.Image == image && e.Snap.Length == 0 && (device is null || e.Device == device))];

    /// <summary>Unmaps a device the list showed; "not mapped" (someone else was quicker) is success.</summary>
    protected async Task UnmapListedAsync(MappedDevice device, bool force, CancellationToken ct, TimeSpan? timeout = null)
    {
        // rbd device unmap -t TYPE [-o OPTIONS] -c CONF --id ID --keyring KEYRING /dev/DEV
        var args = UnmapArgs(DeviceType, client, device.DevicePath, UnmapOptions(force));
        var result = await runner.TryRunAsync("rbd", args, ct, timeout: timeout);
        if (result.Succeeded || IsNotMapped(result.Stderr, NotMappedTexts))
        {
            return;
        }

        if (Matching(await ListAsync(ct, timeout), device.Image, device.DevicePath).Count == 0)
        {
            return; // unmapped by someone else while we tried
        }

        throw HostCommandException.FromExit("rbd", args, result);
    }

    /// <summary>Unmaps a leftover mapping (true), leaves a dead one that is held open alone (false), or refuses a live one in use.</summary>
    private async Task<bool> ReleaseLeftoverAsync(RbdDeviceEntry leftover, CancellationToken ct)
    {
        if (!host.IsInUse(leftover.Device))
        {
            await UnmapListedAsync(new MappedDevice(leftover.Image, leftover.Device, Name), force: false, ct);
            return true;
        }

        // dd if=/dev/DEV of=/dev/null bs=4096 count=1 iflag=direct status=none
        string[] probe = ["if=" + leftover.Device, "of=/dev/null", "bs=4096", "count=1", "iflag=direct", "status=none"];
        CommandResult read;
        try
        {
            read = await runner.TryRunAsync("dd", probe, ct, timeout: ProbeTimeout);
        }
        catch (HostCommandException e) when (e.TimedOut)
        {
            throw new HostCommandException(
                $"image {leftover.Image} is already mapped on this host at {leftover.Device}, held open, and a read from it hangs: " +
                $"release it by hand (umount, then rbd device unmap -t {DeviceType} -o force {leftover.Device}) and mount again", e);
        }

        if (!read.Succeeded)
        {
            return false; // fenced: its I/O fails, so it can write nothing; its owner (or reconcile there) releases it
        }

        throw new HostCommandException(
            $"image {leftover.Image} is already mapped on this host at {leftover.Device}, and something holds that device open " +
            "(a filesystem mounted outside the plugin, device-mapper, or another program): release it by hand " +
            $"(umount, then rbd device unmap -t {DeviceType} {leftover.Device}) and mount again");
    }

    /// <summary>
    /// Unmaps whatever mapping of the image exists after a failed map. Runs even when the caller gave up (its token
    /// is not used) and bounds each command instead. Returns why it failed, or null; never throws, so the caller
    /// sees why the map failed.
    /// </summary>
    private async Task<string?> UndoMapAsync(ImageRef image, IReadOnlyList<string> leftAlone)
    {
        try
        {
            foreach (var made in Matching(await ListAsync(CancellationToken.None, UndoTimeout), image, device: null)
                         .Where(e => !leftAlone.Contains(e.Device, StringComparer.Ordinal)))
            {
                await UnmapListedAsync(new MappedDevice(image, made.Device, Name), force: false, CancellationToken.None, UndoTimeout);
            }

            return null;
        }
        catch (Exception e) when (e is HostCommandException or FormatException or System.Text.Json.JsonException)
        {
            return e.Message;
        }
    }

    internal static IReadOnlyList<string> MapArgs(string deviceType, CephClientArgs client, ImageRef image, IReadOnlyList<string>? options = null,
        IReadOnlyList<string>? flags = null) =>
        ["device", "map", "-t", deviceType, .. flags ?? [], .. Options(options), .. client.ToArgs(), image.ToString()];

    internal static IReadOnlyList<string> UnmapArgs(string deviceType, CephClientArgs client, string device, IReadOnlyList<string>? options = null) =>
        ["device", "unmap", "-t", deviceType, .. Options(options), .. client.ToArgs(), device];

    internal static IReadOnlyList<string> ListArgs(string deviceType, CephClientArgs client) =>
        ["device", "list", "-t", deviceType, .. client.ToArgs(), "--format", "json"];

    internal static bool IsNotMapped(string stderr, IReadOnlyList<string> texts) =>
        texts.Any(t => stderr.Contains(t, StringComparison.Ordinal));

    protected static IReadOnlyList<string> Options(IReadOnlyList<string>? options) =>
        options is { Count: > 0 } ? ["-o", string.Join(',', options)] : [];
}
