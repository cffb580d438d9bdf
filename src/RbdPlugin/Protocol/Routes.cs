namespace RbdPlugin.Protocol;

/// <summary>
/// The nine paths Docker POSTs to. The method name is the path: dockerd builds <c>POST /{method}</c> and sends no
/// Content-Type, only <c>Accept: application/vnd.docker.plugins.v1.2+json</c>.
/// </summary>
internal static class Routes
{
    public const string Activate = "/Plugin.Activate";
    public const string Create = "/VolumeDriver.Create";
    public const string Remove = "/VolumeDriver.Remove";
    public const string Mount = "/VolumeDriver.Mount";
    public const string Unmount = "/VolumeDriver.Unmount";
    public const string Path = "/VolumeDriver.Path";
    public const string Get = "/VolumeDriver.Get";
    public const string List = "/VolumeDriver.List";
    public const string Capabilities = "/VolumeDriver.Capabilities";

    /// <summary>Every route, in the order Docker first meets them.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Activate, Capabilities, Get, Create, Mount, Unmount, Remove, List, Path];

    /// <summary>The method name Docker prints in front of an error, e.g. "VolumeDriver.Create".</summary>
    public static string MethodName(string route) => route.TrimStart('/');
}
