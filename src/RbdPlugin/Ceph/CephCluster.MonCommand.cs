using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Ceph;

// Monitor commands: only `rbd-plugin doctor` sends one, to learn what the client's caps allow.
internal sealed partial class CephCluster
{
    /// <summary>
    /// Sends one monitor command (JSON, as the ceph CLI would) and returns its result code (0 or a negated errno)
    /// and status text. Not retried: a doctor probe wants the first answer.
    /// </summary>
    public Task<(int Result, string Status)> MonCommandAsync(string json, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        return Task.Run(() => MonCommand(json), ct);
    }

    private unsafe (int Result, string Status) MonCommand(string json)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var command = NativeCall.Utf8Z(json);
        nint outBuf = 0, outs = 0;
        try
        {
            fixed (byte* c = command)
            {
                var commands = stackalloc byte*[] { c };
                var rc = Librados.rados_mon_command(_rados, commands, 1, null, 0, out outBuf, out _, out outs, out var outsLength);
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
