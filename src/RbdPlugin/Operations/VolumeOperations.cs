using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>
/// What the runbook's volume commands do, over the same Volumes layer as the daemon: the index (ls, inspect), the
/// shared <see cref="VolumeStore"/> and <see cref="VolumeClones"/> (create, rm) and the lease types (owner,
/// takeover). It never maps or mounts. Failures are <see cref="VolumeException"/>s whose kind decides the exit code.
/// </summary>
internal sealed class VolumeOperations(
    VolumeCatalog catalog,
    ICephImages images,
    VolumeStore store,
    VolumeClones clones,
    LeaseInspector leases,
    LeaseRetirer retirer,
    LeaseFencer fencer,
    MapperAbilities mapper,
    VolumeSettings settings)
{
    /// <summary>How many volumes `ls` looks up at once: each is three small reads and an image open, mostly waiting
    /// for the OSD, so a few in flight cut a long listing several times without loading the cluster.</summary>
    private const int ListConcurrency = 8;

    /// <summary>Every volume whose image exists, by name.</summary>
    public Task<IReadOnlyList<VolumeListItem>> ListAsync(CancellationToken ct) => CephErrors.Guard("list volumes", async () =>
    {
        var records = (await catalog.ListAsync(ct)).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        var items = new VolumeListItem?[records.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, records.Count),
            new ParallelOptions { MaxDegreeOfParallelism = ListConcurrency, CancellationToken = ct },
            async (i, c) => items[i] = await ListItemAsync(records[i], c));
        return (IReadOnlyList<VolumeListItem>)items.OfType<VolumeListItem>().ToList();
    });

    /// <summary>One row of `ls`; null when the image was deleted outside the plugin (the daemon drops the entry at
    /// the next Create).</summary>
    private async Task<VolumeListItem?> ListItemAsync(VolumeRecord record, CancellationToken ct)
    {
        if (await images.PeekImageAsync(record.Image, ct) is not { } image)
        {
            return null;
        }

        var lease = await leases.InspectAsync(record.Name, ct);
        var used = await images.UsedBytesAsync(record.Image, ct);
        return new VolumeListItem(record.Name, record.Spec.Pool, image.SizeBytes, ByteSize.Format(image.SizeBytes),
            used, used is { } u ? ByteSize.Format(u) : null, record.Spec.FsType, lease.Host, lease.StateText,
            lease is { State: LeaseState.Held, Mountpoint: { } mountpoint } ? $"{lease.Host}:{mountpoint}" : null, record.CreatedAt,
            record.Limits.ToOptions(), record.Spec.Encrypted);
    }

    public Task<VolumeInspectResult> InspectAsync(string name, CancellationToken ct) => CephErrors.Guard($"inspect {name}", async () =>
    {
        var (record, image) = await RequireAsync(name, ct);
        var lease = await leases.InspectAsync(name, ct);
        var watchers = await images.ListWatchersOrNoneAsync(record.Image, ct);
        var status = new Dictionary<string, object>(VolumeStatus.Of(record, image, null, settings.HostId, lease), StringComparer.Ordinal)
        {
            // The daemon's "mounted" means "on this host"; here it means anywhere: a live lease or an open image.
            ["mounted"] = lease.IsHeld || watchers.Count > 0,
        };
        return new VolumeInspectResult(name, record.CreatedAt, status, watchers.Select(w => $"client.{w.Id} at {w.Address}").ToList());
    });

    public async Task<VolumeCreateResult> CreateAsync(string name, IReadOnlyDictionary<string, string> options, CancellationToken ct)
    {
        VolumeName.Validate(name);
        if (CreateOptionsParser.IsClone(options))
        {
            var clone = await CephErrors.Guard($"create {name}", () => clones.CloneAsync(name, CreateOptionsParser.ParseClone(options, settings, mapper), ct));
            return new VolumeCreateResult(name, clone.Image.ToString(), clone.Spec.SizeBytes, clone.Spec.FsType);
        }

        var spec = CreateOptionsParser.Parse(options, settings, mapper);
        var record = await CephErrors.Guard($"create {name}", () => store.CreateAsync(name, spec, ct));
        return new VolumeCreateResult(name, record.Image.ToString(), record.Spec.SizeBytes, record.Spec.FsType);
    }

    /// <summary>
    /// Under the volume's lease, which goes with it (no lease object is left behind): refused while any host holds or
    /// held the lease without releasing it; the store refuses while the image is open.
    /// </summary>
    public async Task<VolumeRemoveResult> RemoveAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var action = settings.RemoveAction.ToString().ToLowerInvariant();
        var removed = await CephErrors.Guard($"remove {name}", () => retirer.RetireAsync(name, () => store.RemoveAsync(name, ct), ct));
        return new VolumeRemoveResult(name, removed, action);
    }

    public Task<VolumeTakeoverResult> TakeOverAsync(string name, bool force, CancellationToken ct) => CephErrors.Guard($"take over {name}", async () =>
    {
        var (record, _) = await RequireAsync(name, ct);
        var result = await fencer.TakeOverAsync(name, record.Image, force, ct);
        return new VolumeTakeoverResult(name, result.PreviousOwner, result.BrokeLiveLease, result.Fenced);
    });

    private async Task<(VolumeRecord Record, ImageInfo Image)> RequireAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        return await catalog.FindAsync(name, ct)
            ?? throw new VolumeException(VolumeErrorKind.NotFound,
                $"no such volume: {name}; `rbd-plugin volume ls` lists them, `rbd-plugin volume create {name}` makes it");
    }
}
