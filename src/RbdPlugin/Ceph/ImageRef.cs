namespace RbdPlugin.Ceph;

/// <summary>Where an RBD image lives: pool, optional RADOS namespace, image name.</summary>
internal sealed record ImageRef(string Pool, string Namespace, string Name)
{
    /// <summary>The spec the rbd tools accept: pool/[namespace/]image.</summary>
    public override string ToString() => Namespace.Length == 0 ? $"{Pool}/{Name}" : $"{Pool}/{Namespace}/{Name}";

    /// <summary>The reverse of <see cref="ToString"/>: pool/image or pool/namespace/image; null for anything else.</summary>
    public static ImageRef? TryParse(string? spec) =>
        spec?.Split('/') switch
        {
            [var pool, var name] when pool.Length > 0 && name.Length > 0 => new ImageRef(pool, "", name),
            [var pool, var ns, var name] when pool.Length > 0 && ns.Length > 0 && name.Length > 0 => new ImageRef(pool, ns, name),
            _ => null,
        };
}
