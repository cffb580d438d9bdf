namespace RbdPlugin.Node;

/// <summary>
/// mkfs was refused because the device is not blank: it carries a signature, or data blkid could not name. Nothing
/// was written to it. An <see cref="InvalidOperationException"/>, as refusals to act on a device are here.
/// </summary>
internal sealed class DeviceNotBlankException : InvalidOperationException
{
    public DeviceNotBlankException(string message) : base(message) { }

    public DeviceNotBlankException() : this("the device is not blank") { }

    public DeviceNotBlankException(string message, Exception inner) : base(message, inner) { }
}
