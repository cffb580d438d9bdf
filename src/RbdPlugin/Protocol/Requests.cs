using System.Text.Json.Serialization;

namespace RbdPlugin.Protocol;

/// <summary>
/// What the endpoint helper needs to know of any request: the volume and mount ID for the request log line, and
/// whether the fields the verb needs are there. Implemented explicitly so these members never reach the JSON.
/// </summary>
internal interface IPluginRequest
{
    /// <summary>The volume the request is about, if any.</summary>
    string? VolumeName { get; }

    /// <summary>Docker's mount ID, if the verb carries one.</summary>
    string? MountId { get; }

    /// <summary>Null when the request can be handed to the driver; otherwise the Err to answer with.</summary>
    string? Problem();
}

/// <summary>Checks shared by the request records.</summary>
internal static class RequestChecks
{
    public static string? NeedsName(string? name) =>
        string.IsNullOrEmpty(name) ? "missing Name: the request must carry the volume's name" : null;

    public static string? NeedsNameAndId(string? name, string? id) =>
        NeedsName(name) ?? (string.IsNullOrEmpty(id) ? "missing ID: the request must carry Docker's mount ID" : null);
}

/// <summary>POST /Plugin.Activate: the body is empty; nothing in it is read.</summary>
internal sealed record ActivateRequest : IPluginRequest
{
    string? IPluginRequest.VolumeName => null;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => null;
}

/// <summary>POST /VolumeDriver.Create: <c>{"Name":"db1","Opts":{"size":"10G"}}</c>; Opts is null without -o.</summary>
internal sealed record CreateRequest(string? Name, IReadOnlyDictionary<string, string>? Opts) : IPluginRequest
{
    string? IPluginRequest.VolumeName => Name;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => RequestChecks.NeedsName(Name);
}

/// <summary>POST /VolumeDriver.Remove: <c>{"Name":"db1"}</c>.</summary>
internal sealed record RemoveRequest(string? Name) : IPluginRequest
{
    string? IPluginRequest.VolumeName => Name;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => RequestChecks.NeedsName(Name);
}

/// <summary>POST /VolumeDriver.Mount: <c>{"Name":"db1","ID":"64 hex chars"}</c>; the ID is per mount, not per container.</summary>
internal sealed record MountRequest(string? Name, [property: JsonPropertyName("ID")] string? Id) : IPluginRequest
{
    string? IPluginRequest.VolumeName => Name;
    string? IPluginRequest.MountId => Id;
    string? IPluginRequest.Problem() => RequestChecks.NeedsNameAndId(Name, Id);
}

/// <summary>POST /VolumeDriver.Unmount: <c>{"Name":"db1","ID":"..."}</c>, the ID of an earlier Mount.</summary>
internal sealed record UnmountRequest(string? Name, [property: JsonPropertyName("ID")] string? Id) : IPluginRequest
{
    string? IPluginRequest.VolumeName => Name;
    string? IPluginRequest.MountId => Id;
    string? IPluginRequest.Problem() => RequestChecks.NeedsNameAndId(Name, Id);
}

/// <summary>POST /VolumeDriver.Path: <c>{"Name":"db1"}</c>.</summary>
internal sealed record PathRequest(string? Name) : IPluginRequest
{
    string? IPluginRequest.VolumeName => Name;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => RequestChecks.NeedsName(Name);
}

/// <summary>POST /VolumeDriver.Get: <c>{"Name":"db1"}</c>.</summary>
internal sealed record GetRequest(string? Name) : IPluginRequest
{
    string? IPluginRequest.VolumeName => Name;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => RequestChecks.NeedsName(Name);
}

/// <summary>POST /VolumeDriver.List: <c>{}</c> (an empty body is taken as <c>{}</c>).</summary>
internal sealed record ListRequest : IPluginRequest
{
    string? IPluginRequest.VolumeName => null;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => null;
}

/// <summary>POST /VolumeDriver.Capabilities: <c>{}</c> (an empty body is taken as <c>{}</c>).</summary>
internal sealed record CapabilitiesRequest : IPluginRequest
{
    string? IPluginRequest.VolumeName => null;
    string? IPluginRequest.MountId => null;
    string? IPluginRequest.Problem() => null;
}
