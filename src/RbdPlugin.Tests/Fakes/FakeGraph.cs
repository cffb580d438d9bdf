using Microsoft.Extensions.DependencyInjection;
using RbdPlugin.Ceph;
using RbdPlugin.Hosting;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Fakes;

/// <summary>The production graph (<see cref="ServiceGraph"/>) over an in-memory cluster.</summary>
internal static class FakeGraph
{
    /// <summary>Logging, the clock, <paramref name="ceph"/> as every Ceph service, and the volume domain over it.</summary>
    public static IServiceCollection AddFakeCeph(this IServiceCollection services, FakeCeph ceph, VolumeSettings settings, LeaseIdentity identity,
        TimeProvider time)
    {
        services.AddLogging();
        services.AddSingleton(time);
        services.AddSingleton<ICephImages>(ceph);
        services.AddSingleton<ICephSnapshots>(ceph);
        services.AddSingleton<ICephTrash>(ceph);
        services.AddSingleton<IRadosOmap>(ceph);
        services.AddSingleton<IRadosLocks>(ceph);
        services.AddSingleton<ICephAdmin>(ceph);
        return services.AddVolumes(settings, identity);
    }
}
