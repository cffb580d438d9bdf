namespace RbdPlugin.Node;

/// <summary>The mounts of every mount namespace on this host (containers' included), as each one sees them.</summary>
internal interface IMountNamespaces
{
    /// <summary>Every namespace's mounts, each namespace read once; paths are as that namespace shows them.</summary>
    IReadOnlyList<MountEntry> ReadAll();
}
