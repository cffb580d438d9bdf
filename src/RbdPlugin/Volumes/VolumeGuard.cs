using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// The one way a verb gets at a volume: its per-volume lock and its Ceph calls, both aware of the fence. Once
/// another host has blocklisted this daemon's client, every verb is refused at once, a verb waiting for a lock is
/// released (the lock may be held by the release of a volume whose mapping the fence made hang), and the first Ceph
/// call that meets ESHUTDOWN is how the fence is noticed (<see cref="Fenced"/>). Internal releases — after the
/// grace period, of a lost volume, at the fence itself — must run while fenced: they take the lock with
/// <see cref="LockForReleaseAsync"/>.
/// </summary>
internal sealed class VolumeGuard(HostFence fence, ICephAdmin admin)
{
    private readonly VolumeLocks _locks = new();

    public HostFence Fence => fence;

    /// <summary>Raised once, when the fence is first noticed, with how it was noticed; the handler releases this
    /// host's volumes.</summary>
    public event Action<string>? Fenced;

    /// <summary>The volume's lock for a verb: refused at once when fenced, and a wait is ended by the fence.</summary>
    public async Task<IDisposable> LockAsync(string name, CancellationToken ct)
    {
        fence.ThrowIfFenced();
        using var either = CancellationTokenSource.CreateLinkedTokenSource(ct, fence.Token);
        try
        {
            return await _locks.AcquireAsync(name, either.Token);
        }
        catch (OperationCanceledException) when (fence.IsFenced && !ct.IsCancellationRequested)
        {
            throw fence.Error();
        }
    }

    /// <summary>The volume's lock for releasing it, fenced or not.</summary>
    public Task<IDisposable> LockForReleaseAsync(string name, CancellationToken ct) => _locks.AcquireAsync(name, ct);

    /// <summary>A Ceph call of a verb: refused when fenced; ESHUTDOWN (our client blocklisted) is the fence noticed;
    /// other Ceph failures become errors that say what to do.</summary>
    public async Task<T> GuardAsync<T>(string what, Func<Task<T>> call)
    {
        fence.ThrowIfFenced();
        try
        {
            return await call();
        }
        catch (CephException e) when (e.Errno == Errno.ESHUTDOWN)
        {
            Notice($"while trying to {what}");
            throw fence.Error();
        }
        catch (CephException e)
        {
            throw CephErrors.Translate(what, e);
        }
    }

    public Task<bool> GuardAsync(string what, Func<Task> call) => GuardAsync(what, async () =>
    {
        await call();
        return true;
    });

    /// <summary>Records the fence (renewal saw it, or a verb's call did); the first time raises <see cref="Fenced"/>.</summary>
    public void Notice(string how)
    {
        if (fence.Notice(admin.InstanceAddress, how))
        {
            Fenced?.Invoke(how);
        }
    }
}
