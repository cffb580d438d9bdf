using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// The nine Docker verbs over Ceph and this host, plus what only the daemon that has a volume mounted can do
/// (freeze it around a snapshot, grow it online). Every verb takes its volume's lock through the fence-aware
/// <see cref="VolumeGuard"/>; multi-step work undoes finished steps on failure (<see cref="VolumeMounter"/>); the
/// journal is on disk before a verb that changed it returns. A volume is mapped only under its ownership lease,
/// which outlives the mapping.
/// </summary>
internal sealed class VolumeDriver : IVolumeDriver
{
    private readonly ICephImages _images;
    private readonly VolumeCatalog _catalog;
    private readonly VolumeStore _store;
    private readonly VolumeClones _clones;
    private readonly VolumeSnapshots _snapshots;
    private readonly FrozenSnapshot _frozen;
    private readonly MountJournal _journal;
    private readonly VolumeMounter _mounter;
    private readonly VolumeGuard _guard;
    private readonly VolumeReleaser _releaser;
    private readonly LeaseAcquirer _leases;
    private readonly LeaseRetirer _retirer;
    private readonly LeaseInspector _inspector;
    private readonly MapperSet _mappers;
    private readonly VolumeSettings _settings;
    private readonly VolumeKeys _keys;

    public VolumeDriver(ICephImages images, VolumeCatalog catalog, VolumeStore store, VolumeClones clones, VolumeSnapshots snapshots,
        FrozenSnapshot frozen, MountJournal journal, VolumeMounter mounter, VolumeGuard guard, VolumeReleaser releaser,
        LeaseAcquirer leases, LeaseRetirer retirer, LeaseInspector inspector, MapperSet mappers, VolumeSettings settings, VolumeKeys keys)
    {
        _keys = keys;
        (_images, _catalog, _store, _clones, _snapshots, _frozen) = (images, catalog, store, clones, snapshots, frozen);
        (_journal, _mounter, _guard, _releaser) = (journal, mounter, guard, releaser);
        (_leases, _retirer, _inspector, _mappers, _settings) = (leases, retirer, inspector, mappers, settings);
    }

    /// <summary>Whether another host fenced this daemon (then every verb fails at once).</summary>
    internal HostFence Fence => _guard.Fence;

    /// <inheritdoc />
    public async Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct)
    {
        VolumeName.Validate(name);
        if (CreateOptionsParser.IsClone(options))
        {
            var clone = CreateOptionsParser.ParseClone(options!, _settings, MapperAbilities.Of(_mappers.Active));
            using var locked = await _guard.LockAsync(name, ct);
            await _guard.GuardAsync($"create {name} from {clone.Spec}", () => _clones.CloneAsync(name, clone, ct));
            return;
        }

        var spec = CreateOptionsParser.Parse(options, _settings, MapperAbilities.Of(_mappers.Active));
        using var _ = await _guard.LockAsync(name, ct);
        await _guard.GuardAsync($"create {name}", () => _store.CreateAsync(name, spec, ct));
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        using var _ = await _guard.LockAsync(name, ct);
        if (_journal.Get(name) is { } entry)
        {
            if (entry.TotalRefs > 0)
            {
                throw new VolumeException(VolumeErrorKind.InUse,
                    $"volume {name} is in use: mounted on host {_settings.HostId} at {entry.Mountpoint} by {entry.TotalRefs} container mount(s); stop those containers first");
            }

            _releaser.CancelPending(name);
            await HostErrors.Guard($"unmount of volume {name} before removing it", () => _releaser.ReleaseAsync(entry, ct));
        }

        // Under the volume's lease, which goes with it: no Mount on any host maps it meanwhile, and no lease object is left.
        await _guard.GuardAsync($"remove {name}", () => _retirer.RetireAsync(name, () => _store.RemoveAsync(name, ct), ct));
    }

    /// <inheritdoc />
    public async Task<string> MountAsync(string name, string mountId, CancellationToken ct)
    {
        RequireMountId(mountId);
        using var _ = await _guard.LockAsync(name, ct);
        if (_journal.Get(name) is { } mounted)
        {
            // Already here (another container, docker cp, or inside the grace period): one more reference.
            _releaser.CancelPending(name);
            _journal.Save(mounted.AddRef(mountId));
            return mounted.Mountpoint;
        }

        var record = await RequireRecordAsync(name, ct);
        if (!record.Limits.IsNone && !_mappers.Active.AppliesIoLimits)
        {
            // Mounted without them, the limits would be a promise nobody keeps; nothing is taken or mapped yet.
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"volume {name} has I/O limits ({record.Limits}) and {CreateOptionsParser.NoLimitsOn(_mappers.Active.Name)} on this host; " +
                $"or remove them: rbd-plugin volume limit {name} {string.Join(' ', record.Limits.ToOptions().Keys.Select(k => k + "=0"))}");
        }

        if (record.Spec.Encrypted && !_mappers.Active.OpensEncrypted)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"volume {name} is encrypted and {CreateOptionsParser.NoEncryptionOn(_mappers.Active.Name)} on this host");
        }

        // The passphrase before the lease: a host with the wrong key-encryption key (or none) refuses before it
        // takes or maps anything.
        var passphrase = record.Spec.Encrypted ? await _guard.GuardAsync($"mount {name}", () => _keys.UnlockAsync(record, ct)) : null;
        try
        {
            return await MountUnderLeaseAsync(name, mountId, record, passphrase, ct);
        }
        finally
        {
            if (passphrase is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(passphrase);
            }
        }
    }

    private async Task<string> MountUnderLeaseAsync(string name, string mountId, VolumeRecord record, byte[]? passphrase, CancellationToken ct)
    {
        // The lease first: nothing is mapped here while another host may still write (it waits, refuses, or fences).
        var lease = await _guard.GuardAsync($"mount {name}",
            () => _leases.AcquireAsync(name, record.Image, loss => _releaser.OnLeaseLostAsync(name, loss), ct));
        VolumeRecord? current;
        try
        {
            current = await _guard.GuardAsync($"mount {name}", () => _catalog.GetAsync(name, ct));
        }
        catch
        {
            await _releaser.ReleaseLeaseQuietlyAsync(name); // e.g. the record was made untrusted meanwhile: keep no lease
            throw;
        }

        if (current is null)
        {
            // Removed on another host while this Mount waited for the lease: leave no lease object behind.
            await _guard.GuardAsync($"mount {name}", () => _retirer.DiscardAsync(name, CancellationToken.None));
            throw NoSuchVolume(name);
        }

        try
        {
            var entry = await _guard.GuardAsync($"mount {name}", () => HostErrors.Guard($"mount of volume {name}",
                () => _mounter.MountAsync(record, mountId, lease.Since, writers => _leases.RecordWritersAsync(name, lease, writers, ct),
                    passphrase is null ? (ReadOnlyMemory<byte>?)null : passphrase, ct)));
            return entry.Mountpoint;
        }
        catch
        {
            await _releaser.ReleaseLeaseQuietlyAsync(name);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task UnmountAsync(string name, string mountId, CancellationToken ct)
    {
        using var _ = await _guard.LockAsync(name, ct);
        if (_journal.Get(name) is not { } entry || !entry.Refs.ContainsKey(mountId))
        {
            return; // Unknown ID or not mounted: Docker expects success.
        }

        var updated = entry.RemoveRef(mountId);
        _journal.Save(updated);
        if (updated.TotalRefs == 0)
        {
            _releaser.ReleaseAfterGrace(name);
        }
    }

    /// <inheritdoc />
    public async Task<string?> PathAsync(string name, CancellationToken ct)
    {
        _guard.Fence.ThrowIfFenced(); // its mounts are being released
        if (_journal.Get(name) is { } entry)
        {
            return entry.Mountpoint;
        }

        _ = await RequireRecordAsync(name, ct);
        return null;
    }

    /// <inheritdoc />
    public async Task<VolumeInfo?> GetAsync(string name, CancellationToken ct)
    {
        if (!VolumeName.IsValid(name))
        {
            return null;
        }

        var record = await _guard.GuardAsync($"get {name}", () => _catalog.GetAsync(name, ct));
        if (record is null)
        {
            return null;
        }

        // The peek keeps Get honest when the image was deleted behind our back (Docker then sends Create again) and
        // shows its size now; the lease read does not depend on it, so both go out at once.
        var imageRead = _guard.GuardAsync($"get {name}", () => _images.PeekImageAsync(record.Image, ct));
        var leaseRead = _guard.GuardAsync($"get {name}", () => _inspector.InspectAsync(name, ct));
        await Task.WhenAll(imageRead, leaseRead);
        var (image, lease) = (imageRead.Result, leaseRead.Result);
        if (image is null)
        {
            return null;
        }

        var entry = _journal.Get(name);
        return new VolumeInfo(name, entry?.Mountpoint, record.CreatedAt, VolumeStatus.Of(record, image, entry, _settings.HostId, lease));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<VolumeSummary>> ListAsync(CancellationToken ct)
    {
        var names = await _guard.GuardAsync("list volumes", () => _catalog.ListNamesAsync(ct));
        return names.Where(VolumeName.IsValid).Order(StringComparer.Ordinal)
            .Select(name => new VolumeSummary(name, _journal.Get(name)?.Mountpoint))
            .ToList();
    }

    /// <summary>
    /// A snapshot for the runbook CLI: with the volume mounted here, filesystem-consistent (<see cref="FrozenSnapshot"/>);
    /// not mounted here, as for an unmounted volume. Idempotent: an existing snapshot of that name is reported with
    /// <c>created: false</c>.
    /// </summary>
    public async Task<SnapshotTaken> SnapshotAsync(string name, string snapshot, CancellationToken ct)
    {
        SnapshotName.Validate(snapshot);
        using var _ = await _guard.LockAsync(name, ct);
        return await _guard.GuardAsync($"snapshot {name}@{snapshot}", async () =>
        {
            var record = await _snapshots.RequireAsync(name, ct);
            if (await _snapshots.FindAsync(record, snapshot, ct) is { } existing)
            {
                return VolumeSnapshots.AlreadyThere(record, existing);
            }

            if (_journal.Get(name) is not { } entry)
            {
                return await _snapshots.CreateUnmountedAsync(record, snapshot, ct);
            }

            return await HostErrors.Guard($"snapshot of mounted volume {name}", () => _frozen.TakeAsync(record, entry, snapshot, ct));
        });
    }

    /// <summary>
    /// Grows the mounted filesystem to its (already grown) image, online. Not mounted here: nothing to do; the next
    /// Mount grows it.
    /// </summary>
    public async Task<FilesystemGrowth> GrowAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        using var _ = await _guard.LockAsync(name, ct);
        if (_journal.Get(name) is not { } entry)
        {
            return new FilesystemGrowth(name, false, null, null);
        }

        byte[]? passphrase = null;
        try
        {
            if (entry.Crypt is not null)
            {
                var record = await RequireRecordAsync(name, ct);
                passphrase = await _guard.GuardAsync($"grow {name}", () => _keys.UnlockAsync(record, ct));
            }

            var (before, after) = await HostErrors.Guard($"growing the filesystem of volume {name} (its image is grown already)",
                () => _mounter.GrowAsync(entry, passphrase is null ? (ReadOnlyMemory<byte>?)null : passphrase,
                    writers => CephErrors.Guard($"record the writers of {name}", () => _leases.RecordOwnWritersAsync(name, writers, ct)), ct));
            return new FilesystemGrowth(name, true, before, after);
        }
        finally
        {
            if (passphrase is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(passphrase);
            }
        }
    }

    private async Task<VolumeRecord> RequireRecordAsync(string name, CancellationToken ct)
    {
        VolumeName.Validate(name);
        return await _guard.GuardAsync($"look up {name}", () => _catalog.GetAsync(name, ct)) ?? throw NoSuchVolume(name);
    }

    private static VolumeException NoSuchVolume(string name) =>
        new(VolumeErrorKind.NotFound, $"no such volume: {name}; create it with `docker volume create -d rbd {name}`");

    private static void RequireMountId(string mountId)
    {
        if (string.IsNullOrWhiteSpace(mountId))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument, "mount request without an ID: Docker sends one with every Mount");
        }
    }
}
