using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// The Ceph side of Create and Remove, shared by the daemon's verbs (under its per-volume lock) and the runbook CLI:
/// image plus index entry, created idempotently and removed by the configured action. Knows nothing of this host.
/// </summary>
internal sealed partial class VolumeStore(
    ICephImages images,
    ImageStaging staging,
    VolumeCatalog catalog,
    VolumeRemover remover,
    VolumeKeys keys,
    VolumeSettings settings,
    TimeProvider time,
    ILogger<VolumeStore> logger)
{
    /// <summary>Creates the image and its index entry. Idempotent: the same spec again is success, another is a Conflict.</summary>
    public Task<VolumeRecord> CreateAsync(string name, VolumeSpec spec, CancellationToken ct) => CreateAsync(name, spec, null, ct);

    /// <param name="wrappedKey">An encrypted volume's passphrase already wrapped for this volume's image (a restore
    /// of its ciphertext); null for a new random one.</param>
    public async Task<VolumeRecord> CreateAsync(string name, VolumeSpec spec, WrappedPassphrase? wrappedKey, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is { } existing)
        {
            if (await images.PeekImageAsync(existing.Image, ct) is not null)
            {
                EnsureSameSpec(existing, spec);
                return existing;
            }

            // The image was deleted behind our back (e.g. `rbd rm`): forget it and create anew.
            LogStaleIndexEntry(name, existing.Image.ToString());
            await catalog.RemoveAsync(name, ct);
        }

        // A Remove killed half-way must not hand its volume's data to a new volume of the same name.
        await remover.FinishLeftoverAsync(name, ct);
        var record = new VolumeRecord(name, settings.Namespace, spec, time.GetUtcNow(), settings.HostId);
        // Made under a staging name and renamed into place (see ImageStaging): whatever step a kill -9 interrupts,
        // this name never holds a half-made image, and the next Create clears the leftovers.
        await staging.ClearAsync(name, ct);
        var request = record.ToCreateRequest();
        if (spec.Encrypted)
        {
            // Wrapped for the volume's own name (not the staging name): it opens only on this volume's image.
            request = request with { Metadata = new Dictionary<string, string?>(request.Metadata, StringComparer.Ordinal) { [WrappedPassphrase.MetadataKey] = wrappedKey?.ToJson() ?? keys.NewEntry(name, record.Image).Value } };
        }

        var createdHere = await images.PeekImageAsync(record.Image, ct) is null
            && await staging.MakeAsync(name, record.Image, image => images.CreateImageAsync(request with { Image = image }, ct), ct);
        if (!createdHere)
        {
            // The name is taken: either a crash between image and index last time (the image carries our record:
            // finish the job), or somebody else's image (refuse: never adopt data we did not create).
            record = await staging.OurRecordAsync(record.Image, ct) ?? throw new VolumeException(VolumeErrorKind.Conflict,
                $"an RBD image named {record.Image} already exists and was not created by rbd-plugin; choose another volume name");
            EnsureSameSpec(record, spec);
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

        LogCreated(name, record.Image.ToString(), ByteSize.Format(spec.SizeBytes), spec.FsType);
        return record;
    }

    private static void EnsureSameSpec(VolumeRecord existing, VolumeSpec asked)
    {
        var differences = existing.Spec.DifferencesFrom(asked).ToList();
        if (differences.Count > 0)
        {
            throw new VolumeException(VolumeErrorKind.Conflict,
                $"volume {existing.Name} already exists with other options: {string.Join("; ", differences)}; remove it first or use another name");
        }
    }

    /// <summary>
    /// Removes the volume's index entry and image (trash, delete or keep; see <see cref="VolumeRemover"/>).
    /// Idempotent: false when it was already gone. Refuses (InUse) while any client watches the image; the caller
    /// checks its own host and the lease first.
    /// </summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is not { } record)
        {
            return await remover.FinishLeftoverAsync(name, ct); // gone, or a Remove killed after its index entry went
        }

        var watchers = await WatchersOrNoneAsync(record.Image, ct);
        if (watchers.Count > 0)
        {
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} is in use elsewhere: the image {record.Image} is open by {string.Join(", ", watchers.Select(w => $"client.{w.Id} at {w.Address}"))} (mapped on another host?); unmount it there first (`rbd status {record.Image}` shows the watchers)");
        }

        await remover.RemoveAsync(record, ct);
        return true;
    }

    /// <summary>Clients watching the image; none when the image is gone.</summary>
    public Task<IReadOnlyList<Watcher>> WatchersOrNoneAsync(ImageRef image, CancellationToken ct) => images.ListWatchersOrNoneAsync(image, ct);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created volume {Volume} as {Image} ({Size}, {FsType})")]
    private partial void LogCreated(string volume, string image, string size, string fsType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: image {Image} is gone (deleted outside the plugin); dropping its index entry")]
    private partial void LogStaleIndexEntry(string volume, string image);
}
