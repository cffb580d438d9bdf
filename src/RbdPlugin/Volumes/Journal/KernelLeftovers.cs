using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// At start: krbd and rbd-nbd mappings of this plugin's volumes that no journal entry holds, left by a crash between
/// the map and the journal write (or a journal lost with its state dir). Unlike the fuse mapper's, such mappings are
/// host-wide, and several daemons can share one kernel (one per mount namespace), so one is released only when it is
/// certainly nobody's: its image is a volume of ours, the device is mounted in no mount namespace and open by
/// nobody, and no other host holds the volume's lease. Its lease, if this host's, is given back too. An encrypted
/// volume's crypt device left open over such a mapping (by this host: its name carries this host's id) is closed
/// first, when nothing has it mounted or open.
/// </summary>
internal sealed partial class KernelLeftovers(
    VolumeCatalog catalog,
    LeaseInspector leases,
    LeaseAcquirer acquirer,
    MapperSet mappers,
    IMountNamespaces namespaces,
    IHostProbe host,
    ICryptDevices crypt,
    VolumeSettings settings,
    ILogger<KernelLeftovers> logger)
{
    /// <summary>Releases the leftovers among <paramref name="mapped"/>; returns how many.</summary>
    public async Task<int> ReleaseAsync(IReadOnlyList<MappedDevice> mapped, IReadOnlySet<ImageRef> journaled, CancellationToken ct)
    {
        var candidates = mapped.Where(d => d.Mapper is "krbd" or "nbd" && d.DevicePath.Length > 0 && !journaled.Contains(d.Image)).ToList();
        if (candidates.Count == 0)
        {
            return 0; // the usual case: nothing to read every mount namespace for
        }

        var mountedDevices = namespaces.ReadAll().Select(m => m.Source).ToHashSet(StringComparer.Ordinal);
        await CloseCryptLeftoversAsync(candidates, mountedDevices, ct);
        var released = 0;
        foreach (var device in candidates.Where(d => !mountedDevices.Contains(d.DevicePath) && !host.IsInUse(d.DevicePath)))
        {
            try
            {
                if (await catalog.GetAsync(device.Image.Name, ct) is not { } record || record.Image != device.Image)
                {
                    continue; // not a volume of ours: not ours to unmap
                }

                var lease = await leases.InspectAsync(record.Name, ct);
                if (lease.IsHeld && lease.Host != settings.HostId)
                {
                    continue; // another host's daemon on this kernel
                }

                await mappers.Get(device.Mapper).UnmapAsync(device, ct);
                if (lease.Host == settings.HostId)
                {
                    await acquirer.ReleaseAsync(record.Name, ct);
                }

                released++;
                LogReleased(device.DevicePath, device.Image.ToString(), device.Mapper);
            }
            catch (Exception e) when (e is VolumeException or Ceph.CephException or HostCommandException)
            {
                LogNotReleased(e, device.DevicePath, device.Image.ToString());
            }
        }

        return released;
    }

    private async Task CloseCryptLeftoversAsync(List<MappedDevice> candidates, HashSet<string> mountedDevices, CancellationToken ct)
    {
        var open = crypt.ListOpen(VolumeMounter.CryptPrefix);
        foreach (var device in candidates)
        {
            var name = VolumeMounter.CryptNameOf(settings.HostId, device.Image);
            if (open.FirstOrDefault(m => m.Name == name && m.BackingDevice == device.DevicePath) is not { } leftover
                || mountedDevices.Contains(leftover.Path) || host.IsInUse(leftover.Path))
            {
                continue;
            }

            try
            {
                await crypt.CloseAsync(name, deferred: false, ct);
                LogCryptClosed(name, device.DevicePath, device.Image.ToString());
            }
            catch (HostCommandException e)
            {
                LogNotReleased(e, leftover.Path, device.Image.ToString());
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: closed crypt device {Name} over {Device} ({Image}): left open by a crash between its open and the journal")]
    private partial void LogCryptClosed(string name, string device, string image);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: unmapped {Device} ({Image}, {Mapper}): a volume of ours that no journal entry held and nothing used (a crash between map and journal)")]
    private partial void LogReleased(string device, string image, string mapper);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile: could not release the leftover mapping {Device} ({Image}); it stays")]
    private partial void LogNotReleased(Exception e, string device, string image);
}
