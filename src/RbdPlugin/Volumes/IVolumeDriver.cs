namespace RbdPlugin.Volumes;

/// <summary>
/// The Docker volume verbs, free of HTTP. Every method is idempotent (see each one) and reports expected failures as
/// <see cref="VolumeException"/> whose message is written for the person who typed the docker command.
/// </summary>
internal interface IVolumeDriver
{
    /// <summary>Creates the volume's image and nothing else. Same name + same options again = success.</summary>
    Task CreateAsync(string name, IReadOnlyDictionary<string, string>? options, CancellationToken ct);

    /// <summary>Removes the volume (per the remove action). Already gone = success. Refused while in use.</summary>
    Task RemoveAsync(string name, CancellationToken ct);

    /// <summary>Maps, formats the first time, mounts; counts per mount ID. Returns the mountpoint.</summary>
    Task<string> MountAsync(string name, string mountId, CancellationToken ct);

    /// <summary>Drops one reference of the mount ID. Unknown ID or volume not mounted = success.</summary>
    Task UnmountAsync(string name, string mountId, CancellationToken ct);

    /// <summary>The mountpoint on this host, or null when not mounted here. Throws NotFound for an unknown volume.</summary>
    Task<string?> PathAsync(string name, CancellationToken ct);

    /// <summary>The volume, or null when there is no such volume.</summary>
    Task<VolumeInfo?> GetAsync(string name, CancellationToken ct);

    /// <summary>Every volume this plugin created in the allowed pools.</summary>
    Task<IReadOnlyList<VolumeSummary>> ListAsync(CancellationToken ct);
}

/// <summary>One volume as Get reports it. Status values are strings, numbers or booleans.</summary>
internal sealed record VolumeInfo(string Name, string? Mountpoint, DateTimeOffset? CreatedAt, IReadOnlyDictionary<string, object> Status);

/// <summary>One volume as List reports it.</summary>
internal sealed record VolumeSummary(string Name, string? Mountpoint);
