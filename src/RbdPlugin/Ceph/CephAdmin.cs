using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

/// <summary><see cref="ICephAdmin"/> over librados.</summary>
internal sealed class CephAdmin(CephConnection connection) : ICephAdmin
{
    public string InstanceAddress => connection.InstanceAddress;

    /// <summary>
    /// Fences a client: the OSDs refuse its I/O until <paramref name="expiry"/> passes (re-adding extends it).
    /// Needs the mon cap for "osd blocklist" (profile rbd has it).
    /// </summary>
    public Task BlocklistAddAsync(string clientAddress, TimeSpan expiry, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientAddress);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(expiry, TimeSpan.Zero);
        // 0 would mean "the cluster's default" (an hour), so a positive expiry never rounds down to it.
        var seconds = (uint)Math.Clamp(Math.Ceiling(expiry.TotalSeconds), 1, uint.MaxValue);
        var operation = $"rados_blocklist_add {clientAddress}";
        return connection.Retry.ExecuteAsync(
            operation, () => NativeCall.Check(Librados.rados_blocklist_add(connection.Rados, clientAddress, seconds), operation), ct);
    }

    public Task<(int Result, string Status)> BlocklistRemoveAsync(string clientAddress, CancellationToken ct)
    {
        if (!ClientAddress.IsValid(clientAddress))
        {
            throw new ArgumentException($"not a Ceph client address (IP:PORT/NONCE): '{clientAddress}'", nameof(clientAddress));
        }

        // ceph osd blocklist rm ADDRESS (the address is checked above: nothing in it needs escaping)
        return MonCommandAsync($$"""{"prefix": "osd blocklist", "blocklistop": "rm", "addr": "{{clientAddress}}"}""", ct);
    }

    public Task<(int Result, string Status)> MonCommandAsync(string json, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        return Task.Run(() => MonCommand(json), ct);
    }

    private unsafe (int Result, string Status) MonCommand(string json)
    {
        var command = NativeCall.Utf8Z(json);
        nint outBuf = 0, outs = 0;
        try
        {
            fixed (byte* c = command)
            {
                var commands = stackalloc byte*[] { c };
                var rc = Librados.rados_mon_command(connection.Rados, commands, 1, null, 0, out outBuf, out _, out outs, out var outsLength);
                return (rc, outs == 0 ? "" : NativeCall.Utf8(outs, outsLength));
            }
        }
        finally
        {
            if (outBuf != 0)
            {
                Librados.rados_buffer_free(outBuf);
            }

            if (outs != 0)
            {
                Librados.rados_buffer_free(outs);
            }
        }
    }
}
