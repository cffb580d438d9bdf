namespace RbdPlugin.Volumes;

internal sealed partial class VolumeDriver
{
    /// <inheritdoc />
    public async Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var spec = CreateOptionsParser.Parse(options, settings, mappers.Active.SupportedFeatures);
        using var _ = await LockAsync(name, ct);
        await GuardAsync($"create {name}", () => _store.CreateAsync(name, spec, ct));
    }
}
