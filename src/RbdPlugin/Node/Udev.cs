namespace RbdPlugin.Node;

/// <summary>
/// Whether a udev daemon runs on this host now. <c>rbd device map|unmap -t krbd</c> waits for udev's event about the
/// new device unless told <c>-o noudev</c>, and waits forever where no udev runs (inside a plugin container, a
/// minimal VM): the kernel maps the image meanwhile, so a killed map leaves a device behind. Where udev does run,
/// noudev would skip the /dev/rbd/POOL/IMAGE links and the settle that other tools expect, so it is not passed
/// blindly either.
/// </summary>
internal static class Udev
{
    /// <summary>
    /// systemd-udevd's control socket. libudev's own "is udev active" check looks for this path; connecting to it
    /// also tells a live udevd from a socket file left behind by one that died.
    /// </summary>
    public const string ControlSocket = "/run/udev/control";

    public static bool IsRunning(IHostProbe host) => host.AcceptsConnections(ControlSocket);
}
