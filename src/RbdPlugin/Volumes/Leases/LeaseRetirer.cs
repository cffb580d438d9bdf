namespace RbdPlugin.Volumes;

/// <summary>Deletes a volume's lease object together with the volume, so removed volumes leave nothing behind.</summary>
internal sealed class LeaseRetirer(LeaseObjects objects, LeaseFencer fencer, LeaseRenewer renewer, LeaseIdentity identity)
{
    /// <summary>
    /// Removes a volume together with its lease object, race-free against a Mount on any host: takes the lease
    /// (refusing at once, naming the host, when another host holds it or held it without releasing), runs
    /// <paramref name="removeVolume"/> while holding it, so no Mount anywhere maps the volume meanwhile, then deletes
    /// the object with its lock and owner record. A Mount that waited meanwhile recreates the object when it locks,
    /// finds the volume gone and deletes it again (<see cref="DiscardAsync"/>). When the removal fails, the volume
    /// and its lease object stay, the lease released.
    /// </summary>
    public async Task<T> RetireAsync<T>(string name, Func<Task<T>> removeVolume, CancellationToken ct)
    {
        for (var attempt = 0; !await objects.LockAsync(name, Ceph.LockMode.Acquire, ct); attempt++)
        {
            var holders = await objects.ListHoldersAsync(name, ct);
            if (attempt < 3 && holders.FirstOrDefault(h => h.Cookie == identity.Cookie) is { } stale)
            {
                await fencer.BreakAsync(name, stale, ct); // our own, from an earlier run of this daemon
                continue;
            }

            var host = holders.Count > 0 ? LeaseIdentity.HostOf(holders[0].Cookie) : "unknown";
            throw new VolumeException(VolumeErrorKind.InUse,
                $"volume {name} is mounted on host {host} (it holds the volume's lease); stop the containers using it there first. " +
                $"If {host} is down or hung: `rbd-plugin volume takeover {name} --force`, then remove it again");
        }

        try
        {
            if (await objects.ReadRecordAsync(name, ct) is { } record && record.Cookie != identity.Cookie)
            {
                throw new VolumeException(VolumeErrorKind.InUse,
                    $"volume {name} was mounted on host {record.Host}, which did not release it (its lease lapsed: crashed?); " +
                    $"fence that host with `rbd-plugin volume takeover {name}`, then remove it again");
            }

            var result = await removeVolume();
            await objects.RemoveObjectAsync(name, ct);
            return result;
        }
        catch
        {
            await objects.UnlockQuietlyAsync(name);
            throw;
        }
    }

    /// <summary>
    /// For a Mount that took the lease and then found the volume removed meanwhile: stops renewing and deletes the
    /// lease object it recreated by locking it. Idempotent.
    /// </summary>
    public async Task DiscardAsync(string name, CancellationToken ct)
    {
        renewer.Forget(name);
        await objects.RemoveObjectAsync(name, ct);
    }
}
