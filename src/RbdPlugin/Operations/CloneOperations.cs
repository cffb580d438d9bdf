using RbdPlugin.Node;
using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>What <c>volume clone</c> and <c>volume flatten</c> do, over the same <see cref="VolumeClones"/> as
/// Docker's <c>-o from-snapshot</c>.</summary>
internal sealed class CloneOperations(VolumeClones clones, MapperAbilities mapper, VolumeSettings settings)
{
    /// <summary>A new volume from SOURCE@SNAP, as <c>-o from-snapshot</c> makes it; <paramref name="size"/> may only grow it.</summary>
    public async Task<VolumeCloned> CloneAsync(string sourceSpec, string name, string? size, CancellationToken ct)
    {
        VolumeName.Validate(name);
        var options = new Dictionary<string, string>(StringComparer.Ordinal) { [CreateOptionsParser.FromSnapshot] = sourceSpec };
        if (size is not null)
        {
            options["size"] = size;
        }

        var request = CreateOptionsParser.ParseClone(options, settings, mapper);
        var record = await CephErrors.Guard($"clone {request.Spec} as {name}", () => clones.CloneAsync(name, request, ct));
        return new VolumeCloned(name, request.Source, request.Snapshot, record.Image.ToString(), record.Spec.SizeBytes, record.Spec.FsType);
    }

    /// <summary>Makes a clone independent of its snapshot, so the snapshot and its volume can be removed.</summary>
    public Task<VolumeFlattened> FlattenAsync(string name, CancellationToken ct) => CephErrors.Guard($"flatten {name}", async () =>
    {
        VolumeName.Validate(name);
        var (record, flattened) = await clones.FlattenAsync(name, ct);
        return new VolumeFlattened(name, flattened, record.Spec.FromSnapshot);
    });
}
