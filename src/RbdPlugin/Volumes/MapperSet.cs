using RbdPlugin.Node;

namespace RbdPlugin.Volumes;

/// <summary>
/// The mapper new mounts use, plus every mapper by name: a journal entry is always unmapped by the mapper that
/// mapped it, also after the Mapper setting changed (the composition root registers all of them).
/// </summary>
internal sealed class MapperSet(IBlockMapper active, IEnumerable<IBlockMapper> all)
{
    private readonly Dictionary<string, IBlockMapper> _byName = all.Append(active).DistinctBy(m => m.Name).ToDictionary(m => m.Name);

    public IBlockMapper Active { get; } = active;

    public IBlockMapper Get(string name) => _byName.TryGetValue(name, out var mapper)
        ? mapper
        : throw new VolumeException(VolumeErrorKind.HostCommandFailed, $"the journal names mapper '{name}', which this build does not know");
}
