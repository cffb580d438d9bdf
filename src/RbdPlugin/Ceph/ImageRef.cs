namespace RbdPlugin.Ceph;

/// <summary>Where an RBD image lives: pool, optional RADOS namespace, image name.</summary>
internal sealed record ImageRef(string Pool, string Namespace, string Name)
{
    /// <summary>The spec the rbd tools accept: pool/[namespace/]image.</summary>
    public override string ToString() => Namespace.Length == 0 ? $"{Pool}/{Name}" : $"{Pool}/{Namespace}/{Name}";
}
