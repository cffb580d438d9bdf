namespace RbdPlugin.Node;

/// <summary>This host's mount table as the plugin process sees it (/proc/self/mountinfo).</summary>
internal interface IMountTable
{
    /// <summary>Current mounts, in mountinfo order.</summary>
    IReadOnlyList<MountEntry> Read();
}

/// <summary>One mountinfo line: the mounted source (device), where, and the filesystem type.</summary>
internal sealed record MountEntry(string Source, string MountPoint, string FsType);
