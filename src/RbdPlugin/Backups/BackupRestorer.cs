using RbdPlugin.Ceph;
using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Backups;

/// <summary>What <see cref="BackupRestorer"/> made: the new volume and the chain it applied, full backup first.</summary>
internal sealed record BackupRestored(VolumeRecord Volume, IReadOnlyList<BackupManifest> Chain);

/// <summary>
/// <c>backup restore</c>: verify the whole chain up to the chosen backup (checksums, lengths, diff headers, parent
/// links) and its volume options (as Create checks Docker's) before touching Ceph; then create the new volume
/// through <see cref="VolumeStore"/> with the backed-up options, hidden from the volume index while the diffs are
/// imported in order (each checked again against its verified length and SHA-256 on its way in), and listed only
/// once the last one applied. If anything fails the half-restored image is deleted: a restore either yields a whole volume or none.
/// </summary>
internal sealed class BackupRestorer(
    VolumeCatalog catalog,
    VolumeStore store,
    ICephImages images,
    IBackupSnapshots snapshots,
    RbdDiff diff,
    VolumeKeys keys,
    VolumeSettings settings,
    TimeProvider time)
{

    public async Task<BackupRestored> RestoreAsync(BackupDirectory directory, string name, string? atId, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var chain = await VerifiedChainAsync(directory, atId, ct);
        var target = chain[^1];
        // A restored volume is a full copy even when the backed-up one was a clone: it has no parent to clone from.
        var spec = target.VolumeOptions with { SizeBytes = target.ImageSizeBytes, FromSnapshot = null };
        RequireUsableOptions(directory, target, spec);
        var image = new ImageRef(spec.Pool, settings.Namespace, name);
        var wrappedKey = spec.Encrypted ? RestoredKey(target, image) : null;
        var started = time.GetUtcNow();
        var record = await CephErrors.Guard($"create volume {name}", async () =>
        {
            await EnsureFreeAsync(name, image, ct);
            var created = await store.CreateAsync(name, spec, wrappedKey, ct);
            // The store treats an identical existing volume as success; here it means someone created it meanwhile.
            return created.CreatedAt >= started ? created : throw Exists(name);
        });

        try
        {
            await CephErrors.Guard($"hide {name} while it is restored", () => catalog.RemoveAsync(name, ct));
            foreach (var backup in chain)
            {
                foreach (var file in backup.Files)
                {
                    // The bytes verified above, and only those: the file is checked again on its way into rbd.
                    await HostErrors.Guard($"import backup {backup.Id} into {record.Image}",
                        () => diff.ImportAsync(Path.Combine(directory.VolumeDirectory(backup.Volume), file.Name), file, record.Image, ct));
                }
            }

            // import-diff left each backup's end snapshot on the new image; a restored volume starts without any.
            foreach (var backup in chain)
            {
                await CephErrors.Guard($"remove snapshot {backup.Snapshot} from {record.Image}", () => snapshots.RemoveAsync(record.Image, backup.Snapshot, ct));
            }

            await CephErrors.Guard($"list volume {name}", () => catalog.PutAsync(record, ct));
            return new BackupRestored(record, chain);
        }
        catch (Exception e)
        {
            if (await DeleteHalfRestoredAsync(record, chain) is not { } leftover)
            {
                throw;
            }

            throw new VolumeException(e is VolumeException v ? v.Kind : VolumeErrorKind.Unavailable,
                $"{e.Message}; the half-restored image {record.Image} could not be removed ({leftover}): remove it with `rbd snap purge {record.Image} && rbd rm {record.Image}`", e);
        }
    }

    private static async Task<IReadOnlyList<BackupManifest>> VerifiedChainAsync(BackupDirectory directory, string? atId, CancellationToken ct)
    {
        var (volume, id) = Choose(directory, atId);
        var chain = BackupVerifier.ChainTo(directory.Read(volume), id);
        var broken = (await BackupVerifier.VerifyAsync(chain, checksums: true, ct)).Where(v => !v.IsComplete).ToList();
        if (broken.Count > 0)
        {
            throw new VolumeException(VolumeErrorKind.Damaged,
                $"refusing to restore backup {id} of {volume} from {directory.Root}: " +
                string.Join("; ", broken.Select(b => $"backup {b.Backup.Id} is {b.Status}: {b.Problem}")) +
                ". Nothing was created. `rbd-plugin backup ls {directory.Root} --verify` shows which backups are intact; restore one of those with --at ID");
        }

        return [.. chain.Select(b => b.Manifest!)];
    }

    /// <summary>
    /// The manifest's volume options are checked as Create checks Docker's (invariant 9), before anything is created:
    /// a backup directory is anybody's to write, and a manifest asking for <c>mkfs-options: -d /etc</c> must never
    /// reach mkfs. Pools and MaxSize are this plugin's settings, so those refusals say which setting to change.
    /// </summary>
    private void RequireUsableOptions(BackupDirectory directory, BackupManifest target, VolumeSpec spec)
    {
        if (spec.Pool is not null && !settings.AllowedPools.Contains(spec.Pool))
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"backup {target.Id} is of a volume in pool {StoredRecord.Quote(spec.Pool)}, which this plugin may not use (AllowedPools: {string.Join(",", settings.AllowedPools)}); add it to AllowedPools");
        }

        if (spec.SizeBytes > settings.MaxSizeBytes)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"backup {target.Id} is of a {ByteSize.Format(spec.SizeBytes)} image, larger than MaxSize ({ByteSize.Format(settings.MaxSizeBytes)}); raise the setting MaxSize to restore it. Nothing was created");
        }

        if (StoredSpec.Problem(spec, settings) is { } problem)
        {
            throw new VolumeException(VolumeErrorKind.Damaged,
                $"refusing to restore backup {target.Id} of {target.Volume} from {directory.Root}: the volume options in its manifest are not ones Create accepts: " +
                $"{StoredRecord.Printable(problem)}. Nothing was created. A manifest is only as trustworthy as the directory it is in: check who changed it");
        }
    }

    /// <summary>
    /// An encrypted volume's data is ciphertext whose LUKS header opens only with that volume's passphrase: the one
    /// the manifest carries, unwrapped with this host's key and wrapped again for the restored image. Checked before
    /// anything is created; a backup keeps the key-encryption key of the day it was made.
    /// </summary>
    private WrappedPassphrase RestoredKey(BackupManifest target, ImageRef restored)
    {
        var what = $"backup {target.Id} of {target.Volume}";
        if (target.WrappedKey is not { } wrapped)
        {
            throw new VolumeException(VolumeErrorKind.Damaged,
                $"refusing to restore {what}: the volume was encrypted, but its manifest holds no wrapped key (made by an rbd-plugin from before backups carried it, or edited), " +
                "and its ciphertext opens with nothing else. Nothing was created");
        }

        if (ImageRef.TryParse(target.Image) is not { } original)
        {
            throw new VolumeException(VolumeErrorKind.Damaged,
                $"refusing to restore {what}: its manifest's image {StoredRecord.Quote(target.Image)} is not pool/[namespace/]image, and its wrapped key opens only for the image it names. Nothing was created");
        }

        try
        {
            return keys.Rewrap(wrapped, original, restored, what);
        }
        catch (VolumeException e)
        {
            throw new VolumeException(e.Kind,
                $"refusing to restore: {e.Message}. Nothing was created. A backup keeps the key-encryption key the volume had when the backup was made: " +
                "after a `key rotate`, restore older backups with --encryption-key-file set to the old key, then run `rbd-plugin key rotate` again to move the restored volume to the new one", e);
        }
    }

    /// <summary>The backup to restore: <paramref name="atId"/>, or the newest one when the directory holds one volume's backups.</summary>
    private static (string Volume, string Id) Choose(BackupDirectory directory, string? atId)
    {
        var volumes = directory.Volumes();
        if (atId is not null)
        {
            if (!BackupId.IsValid(atId))
            {
                throw new VolumeException(VolumeErrorKind.InvalidArgument, $"--at {atId}: not a backup id (like 20260102T030405Z-1a2b3c); `rbd-plugin backup ls {directory.Root}` lists them");
            }

            var holder = volumes.FirstOrDefault(v => directory.Read(v).Any(b => b.Id == atId));
            return holder is not null
                ? (holder, atId)
                : throw new VolumeException(VolumeErrorKind.NotFound, $"no backup {atId} in {directory.Root}; `rbd-plugin backup ls {directory.Root}` lists them");
        }

        if (volumes.Count > 1)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"{directory.Root} holds backups of several volumes ({string.Join(", ", volumes)}); choose one with --at ID (`rbd-plugin backup ls {directory.Root}`)");
        }

        var newest = volumes.SelectMany(v => directory.Read(v)).Where(b => b.Manifest is not null).MaxBy(b => b.Manifest!.CreatedAt);
        return newest is not null
            ? (newest.Volume, newest.Id)
            : throw new VolumeException(VolumeErrorKind.NotFound, $"no backups in {directory.Root}; `rbd-plugin backup create NAME {directory.Root}` makes one");
    }

    private async Task EnsureFreeAsync(string name, ImageRef image, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is not null)
        {
            throw Exists(name);
        }

        if (await images.StatImageAsync(image, [], ct) is not null)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"an RBD image {image} exists but is not a listed volume (an interrupted restore?); choose another name, or remove it with `rbd snap purge {image} && rbd rm {image}` if it is one");
        }
    }

    private static VolumeException Exists(string name) =>
        new(VolumeErrorKind.Conflict, $"volume {name} already exists; restore into a new name, or remove it first (`rbd-plugin volume rm {name}`)");

    /// <summary>
    /// Never cancelled: unlisted first (so it never looks valid), then its snapshots, then the image. Returns why it
    /// could not finish, or null when the image is gone.
    /// </summary>
    private async Task<string?> DeleteHalfRestoredAsync(VolumeRecord record, IReadOnlyList<BackupManifest> chain)
    {
        try
        {
            await catalog.RemoveAsync(record.Name, CancellationToken.None);
            foreach (var backup in chain)
            {
                await snapshots.RemoveAsync(record.Image, backup.Snapshot, CancellationToken.None);
            }

            await images.RemoveImageAsync(record.Image, CancellationToken.None);
            return null;
        }
        catch (Exception e) when (e is CephException or HostCommandException)
        {
            return e.Message;
        }
    }
}
