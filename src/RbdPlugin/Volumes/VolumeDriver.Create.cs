using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    /// <inheritdoc />
    public async Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var spec = CreateOptionsParser.Parse(options, settings, mappers.Active.SupportedFeatures);
        using var _ = await _locks.AcquireAsync(name, ct);
        await CephErrors.Guard($"create {name}", () => CreateLockedAsync(name, spec, ct));
    }

    private async Task CreateLockedAsync(string name, VolumeSpec spec, CancellationToken ct)
    {
        if (await catalog.GetAsync(name, ct) is { } existing)
        {
            if (await ceph.StatImageAsync(existing.Image, [], ct) is not null)
            {
                EnsureSameSpec(existing, spec);
                return;
            }

            // The image was deleted behind our back (e.g. `rbd rm`): forget it and create anew.
            LogStaleIndexEntry(name, existing.Image.ToString());
            await catalog.RemoveAsync(name, ct);
        }

        var record = new VolumeRecord(name, settings.Namespace, spec, time.GetUtcNow(), settings.HostId);
        var createdHere = true;
        try
        {
            await ceph.CreateImageAsync(ToRequest(record), ct);
        }
        catch (CephException e) when (e.Errno == Errno.EEXIST)
        {
            // Either a crash between image and index last time (the image carries our record: finish the job),
            // or somebody else's image with this name (refuse: never adopt data we did not create).
            record = await OurRecordOnImageAsync(record.Image, ct) ?? throw new VolumeException(VolumeErrorKind.Conflict,
                $"an RBD image named {record.Image} already exists and was not created by rbd-plugin; choose another volume name");
            EnsureSameSpec(record, spec);
            createdHere = false;
        }

        try
        {
            await catalog.PutAsync(record, ct);
        }
        catch when (createdHere)
        {
            await ceph.RemoveImageAsync(record.Image, CancellationToken.None); // no half volumes
            throw;
        }

        LogCreated(name, record.Image.ToString(), ByteSize.Format(spec.SizeBytes), spec.FsType);
    }

    private async Task<VolumeRecord?> OurRecordOnImageAsync(ImageRef image, CancellationToken ct)
    {
        var info = await ceph.StatImageAsync(image, [VolumeRecord.MetadataKey], ct);
        return info?.Metadata.TryGetValue(VolumeRecord.MetadataKey, out var json) == true ? VolumeRecord.FromJson(json) : null;
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

    private static ImageCreateRequest ToRequest(VolumeRecord record)
    {
        var spec = record.Spec;
        ulong? features = spec.Features is null
            ? null
            : spec.Features.Split(',', StringSplitOptions.RemoveEmptyEntries).Aggregate(0UL, (bits, n) => bits | RbdFeatures.ByName[n]);
        int? order = spec.ObjectSize is { } size ? System.Numerics.BitOperations.Log2(size) : null;
        return new ImageCreateRequest(record.Image, spec.SizeBytes, features, order, spec.DataPool,
            new Dictionary<string, string> { [VolumeRecord.MetadataKey] = record.ToJson() });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created volume {Volume} as {Image} ({Size}, {FsType})")]
    private partial void LogCreated(string volume, string image, string size, string fsType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume}: image {Image} is gone (deleted outside the plugin); dropping its index entry")]
    private partial void LogStaleIndexEntry(string volume, string image);
}
