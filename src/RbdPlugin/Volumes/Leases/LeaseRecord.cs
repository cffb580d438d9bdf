using System.Text.Json;
using System.Text.Json.Serialization;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Who owns a volume, stored as the omap key <see cref="LeaseObjects.OwnerKey"/> of the volume's lease object while
/// its lock is held, and removed (before unlocking) on a clean release. A record whose lock is gone therefore means
/// the owner did not let go cleanly: the next owner fences <see cref="Address"/> before it maps.
/// </summary>
/// <param name="Host">The owner's host id.</param>
/// <param name="Cookie">The lock cookie (host id and a per-state-dir token).</param>
/// <param name="Address">The owning daemon's Ceph client address.</param>
/// <param name="Since">When the owner took the lease.</param>
/// <param name="Mountpoint">Where the owner mounts the volume (its MountRoot/NAME), for <c>volume ls</c>; null in
/// records written before this field existed.</param>
/// <param name="Writers">The Ceph clients that write the volume's data for the owner (its mapping: the kernel
/// client, rbd-nbd or rbd-fuse), recorded right after the map: a takeover fences them with the owner's daemon, also
/// when their watch on the image has timed out (a frozen host). Null before the map, and in older records.</param>
internal sealed record LeaseRecord(string Host, string Cookie, string Address, DateTimeOffset Since, string? Mountpoint = null,
    IReadOnlyList<string>? Writers = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, LeaseJsonContext.Default.LeaseRecord);

    public static LeaseRecord? FromJson(string? json)
    {
        if (json is null)
        {
            return null;
        }

        // Any host's key can write the record, and its addresses end up in blocklist commands: a record that names
        // anything but client addresses is no record (the next owner fences the image's watchers only).
        var record = StoredJson.Parse(json, LeaseJsonContext.Default.LeaseRecord);
        return record is not null && record.Host is not null && record.Cookie is not null && ClientAddress.IsValid(record.Address)
            && (record.Writers ?? []).All(ClientAddress.IsValid) ? record : null;
    }
}

/// <summary>A volume's lease as the cluster shows it.</summary>
internal enum LeaseState
{
    /// <summary>No owner: never mounted, or released cleanly.</summary>
    None,

    /// <summary>A live lock: a host has the volume mounted (or is inside its unmount grace).</summary>
    Held,

    /// <summary>An owner record without a live lock: the owner did not release (crashed, hung, cut off).</summary>
    Expired,
}

/// <summary>What Get reports about a volume's lease: its <see cref="LeaseState"/> and the owner's host.
/// <see cref="Mountpoint"/>: where the holder mounted it, when its own record says so.</summary>
internal sealed record LeaseView(LeaseState State, string? Host, DateTimeOffset? Since, string? Mountpoint = null)
{
    public static LeaseView None { get; } = new(LeaseState.None, null, null);

    /// <summary>The state as Status and <c>--json</c> spell it: "held", "expired" or "none".</summary>
    public string StateText => State.ToString().ToLowerInvariant();

    public bool IsHeld => State == LeaseState.Held;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LeaseRecord))]
internal sealed partial class LeaseJsonContext : JsonSerializerContext;
