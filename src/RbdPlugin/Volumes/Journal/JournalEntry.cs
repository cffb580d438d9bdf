using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// One volume mounted on this host: what is mapped and mounted, and who holds it. <see cref="Refs"/> counts per
/// Docker mount ID (docker cp repeats a container's ID, so a set would unmount under a running container).
/// An entry with no refs is waiting for its unmount grace period to end. <see cref="LeaseSince"/> is set when the
/// mount was made under an ownership lease (null for entries written before leases existed). <see cref="Writers"/>
/// are the Ceph clients of the mapping, as recorded in the lease (kept here so a restart records them again).
/// <see cref="Crypt"/> is the dm-crypt name of an encrypted volume's cleartext device, open over <see cref="Device"/>:
/// every release closes it before the unmap.
/// </summary>
internal sealed record JournalEntry(
    string Name,
    ImageRef Image,
    string Mapper,
    string Device,
    string? MapperDetail,
    string Mountpoint,
    string FsType,
    IReadOnlyDictionary<string, int> Refs,
    DateTimeOffset MountedAt,
    DateTimeOffset? LeaseSince = null,
    IReadOnlyList<string>? Writers = null,
    string? Crypt = null)
{
    /// <summary>The device the filesystem is on: the crypt device of an encrypted volume, else the mapped device.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string FsDevice => Crypt is null ? Device : Node.CryptSetup.MapperPath(Crypt);

    /// <summary>The mapping as its mapper takes it (device, and the mapper's detail: fuse mountpoint, nbd cookie).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Node.MappedDevice Mapping => new(Image, Device, Mapper, MapperDetail);

    public int TotalRefs => Refs.Values.Sum();

    public JournalEntry AddRef(string mountId)
    {
        var refs = new Dictionary<string, int>(Refs, StringComparer.Ordinal);
        refs[mountId] = refs.GetValueOrDefault(mountId) + 1;
        return this with { Refs = refs };
    }

    /// <summary>Drops one reference of the ID; an unknown ID changes nothing.</summary>
    public JournalEntry RemoveRef(string mountId)
    {
        if (!Refs.TryGetValue(mountId, out var count))
        {
            return this;
        }

        var refs = new Dictionary<string, int>(Refs, StringComparer.Ordinal);
        if (count <= 1)
        {
            refs.Remove(mountId);
        }
        else
        {
            refs[mountId] = count - 1;
        }

        return this with { Refs = refs };
    }
}
