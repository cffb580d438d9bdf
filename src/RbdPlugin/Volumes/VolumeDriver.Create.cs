namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    /// <inheritdoc />
    public async Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct)
    {
        VolumeName.Validate(name);
        if (CreateOptionsParser.IsClone(options))
        {
            var clone = CreateOptionsParser.ParseClone(options!, settings);
            using var locked = await _locks.AcquireAsync(name, ct);
            await CephErrors.Guard($"create {name} from {clone.Spec}", () => _store.CloneAsync(name, clone, ct));
            return;
        }

        var spec = CreateOptionsParser.Parse(options, settings, mappers.Active.SupportedFeatures);
        using var _ = await LockAsync(name, ct);
        await GuardAsync($"create {name}", () => _store.CreateAsync(name, spec, ct));
    }
}
