namespace RbdPlugin.Ceph;

/// <summary>A plain RADOS object (the volume index, a lease object): pool, RADOS namespace ("" when none), name.</summary>
internal sealed record RadosObject(string Pool, string Namespace, string Name)
{
    public override string ToString() => $"{Pool}/{Namespace}/{Name}";

    /// <summary>Throws <see cref="ArgumentException"/> for a reference no call could use.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Pool);
        ArgumentNullException.ThrowIfNull(Namespace);
        ArgumentException.ThrowIfNullOrEmpty(Name);
    }
}
