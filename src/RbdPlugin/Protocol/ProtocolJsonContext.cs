using System.Text.Json.Serialization;

namespace RbdPlugin.Protocol;

/// <summary>
/// Source-generated JSON for the wire types. Property names are the C# names (PascalCase, "ID" by attribute);
/// reading is case-insensitive and skips unknown fields, as Go's encoding/json does on Docker's side.
/// The scalar types are registered because Status is a dictionary of objects: each value is serialized by its
/// runtime type, which must be known here (see <see cref="StatusValues"/>).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ActivateRequest))]
[JsonSerializable(typeof(CreateRequest))]
[JsonSerializable(typeof(RemoveRequest))]
[JsonSerializable(typeof(MountRequest))]
[JsonSerializable(typeof(UnmountRequest))]
[JsonSerializable(typeof(PathRequest))]
[JsonSerializable(typeof(GetRequest))]
[JsonSerializable(typeof(ListRequest))]
[JsonSerializable(typeof(CapabilitiesRequest))]
[JsonSerializable(typeof(ActivateResponse))]
[JsonSerializable(typeof(CreateResponse))]
[JsonSerializable(typeof(RemoveResponse))]
[JsonSerializable(typeof(MountResponse))]
[JsonSerializable(typeof(UnmountResponse))]
[JsonSerializable(typeof(PathResponse))]
[JsonSerializable(typeof(GetResponse))]
[JsonSerializable(typeof(ListResponse))]
[JsonSerializable(typeof(CapabilitiesResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(Dictionary<string, ulong>))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(decimal))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
