using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Volumes made from snapshots: a copy-on-write clone that becomes an ordinary volume with its source's
/// filesystem, and the flatten that makes it independent of that snapshot. Shared by Docker's Create
/// (<c>-o from-snapshot</c>) and the runbook CLI.
/// </summary>
internal sealed partial class VolumeClones(
    ICephImages images,
    ImageStaging staging,
    VolumeRemover remover,
    VolumeSnapshots snapshots,
    VolumeCatalog catalog,
    VolumeKeys keys,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<VolumeClones> logger)
{
    /// <summary>
    /// Clones SOURCE@SNAP as volume <paramref name="name"/>: the source's layout, features and filesystem (no mkfs at
    /// the first mount: the clone carries the filesystem; the mount grows it when the clone is larger). Idempotent:
    /// the same clone asked again is success; anything else under that name is a Conflict.
    /// </summary>
    public async Task<VolumeRecord> CloneAsync(string name, CloneRequest request, CancellationToken ct)
    {
        if ((await catalog.FindAsync(name, ct))?.Record is { } existing)
        {
            if (existing.Spec.FromSnapshot == request.Spec && (request.SizeBytes is null || request.SizeBytes == existing.Spec.SizeBytes))
            {
                return existing;
            }

            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {name} already exists{(existing.Spec.FromSnapshot is { } from ? $" as a clone of {from}" : "")}; remove it first or use another name");
        }

        var source = await catalog.GetAsync(request.Source, ct) ?? throw new VolumeException(VolumeErrorKind.NotFound,
            $"from-snapshot={request.Spec}: no such volume {request.Source} (`rbd-plugin volume ls` lists them)");
        var snapshot = await snapshots.RequireSnapshotAsync(source, request.Snapshot, ct);
        var spec = CloneSpec(source, snapshot, request);
        var record = new VolumeRecord(name, settings.Namespace, spec, time.GetUtcNow(), settings.HostId);
        // Staged and renamed into place, as a plain Create (see ImageStaging), never over a half-done Remove.
        await remover.FinishLeftoverAsync(name, ct);
        await staging.ClearAsync(name, ct);
        var create = record.ToCreateRequest();
        if (spec.Encrypted)
        {
            // The clone's data is its source's ciphertext, LUKS header included: the same passphrase, wrapped for the
            // clone's name (librbd's copy of the parent's entry names the parent and would not open).
            var (key, value) = await keys.CloneEntryAsync(source, record.Image, ct);
            create = create with { Metadata = new Dictionary<string, string?>(create.Metadata, StringComparer.Ordinal) { [key] = value } };
        }

        var createdHere = await images.PeekImageAsync(record.Image, ct) is null
            && await staging.MakeAsync(name, record.Image, async image =>
            {
                // librbd copies the parent's metadata into the clone: the record's metadata replaces or removes it
                // (VolumeRecord.ImageMetadata).
                await images.CloneImageAsync(source.Image, request.Snapshot, create with { Image = image }, ct);
            }, ct);
        if (!createdHere)
        {
            // A crash between the rename and the index write last time leaves this same clone, with our record:
            // finish the job. Anything else under the name is not ours to take.
            record = await staging.OurRecordAsync(record.Image, ct) is { } found && found.Spec.FromSnapshot == request.Spec
                && (request.SizeBytes is null || request.SizeBytes == found.Spec.SizeBytes)
                ? found
                : throw new VolumeException(VolumeErrorKind.Conflict, $"an RBD image named {record.Image} already exists; choose another volume name");
        }

        try
        {
            await catalog.PutAsync(record, ct);
        }
        catch when (createdHere)
        {
            await images.RemoveImageAsync(record.Image, CancellationToken.None); // no half volumes
            throw;
        }

        LogCloned(name, request.Spec, record.Image.ToString(), ByteSize.Format(spec.SizeBytes));
        return record;
    }

    /// <summary>
    /// Copies the data the clone still shares with its snapshot into the clone. Idempotent: false when the volume
    /// depends on no snapshot. Its record keeps <see cref="VolumeSpec.FromSnapshot"/> as where it came from.
    /// </summary>
    public async Task<(VolumeRecord Record, bool Flattened)> FlattenAsync(string name, CancellationToken ct)
    {
        var notFound = new VolumeException(VolumeErrorKind.NotFound, $"no such volume: {name}; `rbd-plugin volume ls` lists them");
        var record = await catalog.GetAsync(name, ct) ?? throw notFound;
        try
        {
            var flattened = await images.FlattenImageAsync(record.Image, ct);
            if (flattened)
            {
                LogFlattened(name, record.Image.ToString(), record.Spec.FromSnapshot ?? "its parent");
            }

            return (record, flattened);
        }
        catch (CephException e) when (e.Errno == Errno.ENOENT)
        {
            throw notFound;
        }
    }

    private static VolumeSpec CloneSpec(VolumeRecord source, SnapshotInfo snapshot, CloneRequest request)
    {
        var fsType = source.Spec.FsType;
        if (request.FsType is { } asked && asked != fsType)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"invalid option fstype={asked}: the snapshot {request.Spec} holds an {fsType} filesystem; leave fstype out or give {fsType}");
        }

        var size = request.SizeBytes ?? snapshot.SizeBytes;
        if (size < snapshot.SizeBytes)
        {
            throw new VolumeException(VolumeErrorKind.InvalidArgument,
                $"invalid option size={ByteSize.Format(size)}: the snapshot {request.Spec} is {ByteSize.Format(snapshot.SizeBytes)} and a clone cannot be smaller; leave size out or give at least that");
        }

        return source.Spec with
        {
            Pool = request.Pool ?? source.Spec.Pool,
            SizeBytes = size,
            MountOptions = request.MountOptions is { } options ? FsOptions.ValidateMount(fsType, options) : source.Spec.MountOptions,
            FromSnapshot = request.Spec,
            Limits = IoLimits.Parse(request.LimitOptions, source.Limits).OrNull(), // the source's limits now, unless given
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created volume {Volume} as a clone of {Snapshot} ({Image}, {Size})")]
    private partial void LogCloned(string volume, string snapshot, string image, string size);

    [LoggerMessage(Level = LogLevel.Information, Message = "Flattened volume {Volume} ({Image}): it no longer depends on {Snapshot}")]
    private partial void LogFlattened(string volume, string image, string snapshot);
}
