using System.Text.Json.Serialization;

namespace RbdPlugin.Protocol;

// Every response but Activate and Capabilities carries "Err": Docker treats any non-empty Err as a failure and
// shows it as "VolumeDriver.<Verb>: <Err>". On success it must be present and empty, never omitted.

/// <summary>Answer to Activate: <c>{"Implements":["VolumeDriver"]}</c>.</summary>
internal sealed record ActivateResponse(IReadOnlyList<string> Implements)
{
    public static ActivateResponse VolumeDriver { get; } = new(["VolumeDriver"]);
}

/// <summary>Answer to Create: <c>{"Err":""}</c>.</summary>
internal sealed record CreateResponse(string Err = "");

/// <summary>Answer to Remove: <c>{"Err":""}</c>.</summary>
internal sealed record RemoveResponse(string Err = "");

/// <summary>Answer to Mount: <c>{"Mountpoint":"/path","Err":""}</c>.</summary>
internal sealed record MountResponse(string Mountpoint, string Err = "");

/// <summary>Answer to Unmount: <c>{"Err":""}</c>.</summary>
internal sealed record UnmountResponse(string Err = "");

/// <summary>Answer to Path: <c>{"Mountpoint":"/path","Err":""}</c>; <c>""</c> when not mounted on this host.</summary>
internal sealed record PathResponse(string Mountpoint, string Err = "");

/// <summary>
/// Answer to Get. <c>{"Volume":null,"Err":""}</c> is "no such volume": the serializer writes the null on purpose
/// (see <see cref="PluginEndpoints"/> for why this shape and not an Err).
/// </summary>
internal sealed record GetResponse(WireVolume? Volume, string Err = "");

/// <summary>Answer to List: <c>{"Volumes":[{"Name":"db1"}],"Err":""}</c>.</summary>
internal sealed record ListResponse(IReadOnlyList<WireVolume> Volumes, string Err = "");

/// <summary>Answer to Capabilities: <c>{"Capabilities":{"Scope":"global"}}</c>.</summary>
internal sealed record CapabilitiesResponse(WireCapabilities Capabilities)
{
    /// <summary>
    /// One pool serves many hosts, so the scope is global: Swarm then asks every node (Get, then Create if absent)
    /// and Get/List answer for the whole pool.
    /// </summary>
    public static CapabilitiesResponse Global { get; } = new(new WireCapabilities("global"));
}

/// <summary>The "Capabilities" object: "local" or "global".</summary>
internal sealed record WireCapabilities(string Scope);

/// <summary>Any failure: <c>{"Err":"what went wrong and what to do"}</c>, sent with a non-200 status.</summary>
internal sealed record ErrorResponse(string Err);

/// <summary>
/// A volume as Docker reads it. Only Name is required; the rest is omitted when null because Docker decodes
/// CreatedAt into a Go time.Time, which fails on "" or null and would make the volume look nonexistent.
/// </summary>
internal sealed record WireVolume(
    string Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Mountpoint = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [property: JsonConverter(typeof(Rfc3339DateTimeOffsetConverter))]
    DateTimeOffset? CreatedAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, object>? Status = null);
