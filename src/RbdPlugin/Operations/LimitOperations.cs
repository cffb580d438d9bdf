using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>What <c>volume limit</c> does: shows or changes a volume's I/O limits, wherever it is mounted.</summary>
internal sealed class LimitOperations(VolumeLimiter limiter, VolumeCatalog catalog, LeaseInspector leases)
{
    /// <summary>With no options, the limits in force; otherwise changes them (see <see cref="VolumeLimiter"/>).</summary>
    public Task<VolumeLimited> LimitAsync(string name, IReadOnlyDictionary<string, string> options, CancellationToken ct) => CephErrors.Guard($"limit {name}", async () =>
    {
        VolumeName.Validate(name);
        ArgumentNullException.ThrowIfNull(options);
        VolumeRecord record;
        IoLimits before;
        if (options.Count == 0)
        {
            record = await catalog.GetAsync(name, ct) ?? throw new VolumeException(VolumeErrorKind.NotFound, $"no such volume: {name}; `rbd-plugin volume ls` lists them");
            before = record.Limits;
        }
        else
        {
            (record, before) = await limiter.LimitAsync(name, options, ct);
        }

        var lease = await leases.InspectAsync(name, ct);
        return new VolumeLimited(name, before.ToOptions(), record.Limits.ToOptions(), record.Limits != before, lease.IsHeld ? lease.Host : null);
    });
}
