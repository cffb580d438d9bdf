namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    /// <inheritdoc />
    public async Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var spec = CreateOptionsParser.Parse(options, settings, mappers.Active.SupportedFeatures);
        using var _ = await _locks.AcquireAsync(name, ct);
        await CephErrors.Guard($"create {name}", () => _store.CreateAsync(name, spec, ct));
    }
}
