namespace RbdPlugin.Volumes;

/// <summary>
/// One async lock per volume name, so operations on one volume are serialised while different volumes never wait
/// for each other (no global lock is held across a Ceph call or a shell-out). Locks are dropped when unused.
/// </summary>
internal sealed class VolumeLocks
{
    private readonly Dictionary<string, (SemaphoreSlim Gate, int Users)> _locks = new(StringComparer.Ordinal);

    public async Task<IDisposable> AcquireAsync(string name, CancellationToken ct)
    {
        SemaphoreSlim gate;
        lock (_locks)
        {
            var (existing, users) = _locks.TryGetValue(name, out var found) ? found : (new SemaphoreSlim(1, 1), 0);
            _locks[name] = (existing, users + 1);
            gate = existing;
        }

        try
        {
            await gate.WaitAsync(ct);
        }
        catch
        {
            Release(name, gate, entered: false);
            throw;
        }

        return new Lease(this, name, gate);
    }

    private void Release(string name, SemaphoreSlim gate, bool entered)
    {
        if (entered)
        {
            gate.Release();
        }

        lock (_locks)
        {
            var (_, users) = _locks[name];
            if (users == 1)
            {
                _locks.Remove(name);
                gate.Dispose();
            }
            else
            {
                _locks[name] = (gate, users - 1);
            }
        }
    }

    private sealed class Lease(VolumeLocks owner, string name, SemaphoreSlim gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(name, gate, entered: true);
            }
        }
    }
}
