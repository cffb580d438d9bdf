using System.Diagnostics;
using System.Globalization;
using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Hosting;

/// <summary>
/// The doctor's checks against the cluster: reachable within CephTimeout, and the client's caps are enough for what
/// the daemon does — read and write the volume index, create and remove images in every allowed pool (a probe image,
/// removed again), blocklist a dead owner (probed without blocklisting anyone).
/// </summary>
internal static class DoctorCephChecks
{
    /// <summary>Not a valid volume name, so no reader of the index mistakes it for a volume.</summary>
    private const string IndexProbeKey = "#rbd-plugin-doctor";

    public static async Task<IReadOnlyList<DoctorCheck>> RunAsync(ValidatedOptions options, CancellationToken ct)
    {
        var raw = options.Raw;
        var client = $"client.{raw.CephId}";
        var watch = Stopwatch.StartNew();
        CommandSession session;
        try
        {
            session = await CommandSession.OpenAsync(options, logWarnings: false, ct);
        }
        catch (CephException e)
        {
            return [DoctorCheck.Fail("ceph", $"{client} could not connect within CephTimeout={raw.CephTimeout}: {e.Message}", ConnectFix(e, raw))];
        }

        await using (session)
        {
            var checks = new List<DoctorCheck>
            {
                DoctorCheck.Pass("ceph", $"connected as {client} in {watch.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture)} ms (CephTimeout={raw.CephTimeout})"),
                await IndexAsync(session.Get<IRadosOmap>(), options.Volumes, client, ct),
            };
            foreach (var pool in options.Volumes.AllowedPools)
            {
                checks.Add(await ImagesAsync(session.Get<ICephImages>(), pool, options.Volumes.Namespace, client, ct));
            }

            checks.Add(await BlocklistAsync(session.Get<ICephAdmin>(), client, ct));
            return checks;
        }
    }

    private static string CapsFix(string client, VolumeSettings settings) =>
        $"give {client} the caps the plugin needs: `ceph auth caps {client} mon 'profile rbd' osd '{string.Join(", ", settings.AllowedPools.Select(p => $"profile rbd pool={p}"))}'`";

    private static string ConnectFix(CephException e, PluginOptions raw) => e.Errno switch
    {
        Errno.EACCES or Errno.EPERM =>
            $"the cluster refused client.{raw.CephId}: check the key in Keyring={raw.Keyring} is that client's (`ceph auth get client.{raw.CephId}`) and the client exists",
        Errno.ENOENT =>
            $"librados could not read CephConf={raw.CephConf} or Keyring={raw.Keyring}: fix the paths (--ceph-conf, --keyring)",
        _ => $"check `ceph -s` from this host, the `mon host` line in CephConf={raw.CephConf} and that the monitors are reachable; raise CephTimeout if the network is slow",
    };

    private static async Task<DoctorCheck> IndexAsync(IRadosOmap omap, VolumeSettings settings, string client, CancellationToken ct)
    {
        const string name = "caps: volume index";
        var where = $"{settings.Pool}{(settings.Namespace.Length > 0 ? "/" + settings.Namespace : "")}/{VolumeCatalog.IndexObject}";
        try
        {
            var index = VolumeCatalog.IndexOf(settings);
            var entries = await omap.ReadOmapAsync(index, ct);
            await omap.SetOmapKeyAsync(index, IndexProbeKey, "doctor probe", ct);
            await omap.RemoveOmapKeyAsync(index, IndexProbeKey, ct);
            return DoctorCheck.Pass(name, $"read {entries.Count} entries of {where}, wrote and removed a probe key");
        }
        catch (CephException e)
        {
            return DoctorCheck.Fail(name, $"{client} cannot read and write {where}: {e.Message}", CapsFix(client, settings));
        }
    }

    private static async Task<DoctorCheck> ImagesAsync(ICephImages images, string pool, string ns, string client, CancellationToken ct)
    {
        var name = $"caps: images in {pool}";
        var probe = new ImageRef(pool, ns, "rbd-plugin-doctor-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await images.CreateImageAsync(new ImageCreateRequest(probe, 4UL << 20, null, null, null, new Dictionary<string, string?>()), ct);
            await images.RemoveImageAsync(probe, ct);
            return DoctorCheck.Pass(name, $"created and removed the probe image {probe}");
        }
        catch (CephException e)
        {
            try
            {
                await images.RemoveImageAsync(probe, CancellationToken.None);
            }
            catch (CephException)
            {
                // Never created (the usual case when the caps are missing).
            }

            return DoctorCheck.Fail(name, $"{client} cannot create and remove images in pool {pool}: {e.Message}",
                $"give {client} `osd 'profile rbd pool={pool}'` (see `ceph auth get {client}`); or drop {pool} from AllowedPools");
        }
    }

    /// <summary>
    /// Sends `osd blocklist add` with an address that matches the cap's pattern but cannot be parsed: a client allowed
    /// to blocklist gets EINVAL from the parser (nothing is blocklisted), one that is not gets EACCES first.
    /// </summary>
    private static async Task<DoctorCheck> BlocklistAsync(ICephAdmin admin, string client, CancellationToken ct)
    {
        const string name = "caps: blocklist";
        var (result, status) = await admin.MonCommandAsync(
            """{"prefix": "osd blocklist", "blocklistop": "add", "addr": "rbd-plugin-doctor-probe/0"}""", ct);
        return result switch
        {
            -Errno.EINVAL => DoctorCheck.Pass(name, "the monitors accept `osd blocklist add` from this client (probed with an unparseable address: nothing was blocklisted)"),
            -Errno.EACCES or -Errno.EPERM => DoctorCheck.Fail(name,
                $"{client} may not blocklist clients ({status}): a Mount could not fence a crashed owner, so it could not take over its volumes",
                $"give {client} `mon 'profile rbd'` (it includes `osd blocklist add`)"),
            _ => DoctorCheck.Fail(name, $"the blocklist probe got errno {-result} ({status})",
                "check the monitors (`ceph -s`) and the client's mon caps (`ceph auth get " + client + "`)"),
        };
    }
}
