using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Node;
using RbdPlugin.Tests.Fakes;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Journal;

/// <summary>
/// Convergence when Docker loses Unmounts (dockerd restarting after a crash): a volume no container has mounted for
/// UnusedMountTimeout is released as if unmounted; one a container holds never is. The real engine restart is in
/// EndToEnd/DockerdRestartTests.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class UnusedMountReaperTests : IDisposable
{
    private const string IdA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string IdB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly DriverHarness _h = new();
    private readonly List<MountEntry> _otherNamespaces = [];
    private readonly CancellationToken _ct = CancellationToken.None;
    private readonly UnusedMountReaper _reaper;

    public UnusedMountReaperTests() =>
        _reaper = new UnusedMountReaper(_h.Journal, _h.Get<VolumeReleaser>(), new Namespaces(this), _h.Settings with { UnusedMountTimeout = Timeout },
            _h.Time, NullLogger<UnusedMountReaper>.Instance);

    public void Dispose() => _h.Dispose();

    /// <summary>Our namespace is the fake host's mount table; containers' namespaces are added by the tests.</summary>
    private sealed class Namespaces(UnusedMountReaperTests t) : IMountNamespaces
    {
        public IReadOnlyList<MountEntry> ReadAll() => [.. t._h.Host.Read(), .. t._otherNamespaces];
    }

    private async Task<JournalEntry> MountAsync(string id = IdA)
    {
        await _h.Driver.CreateAsync("db1", null, _ct);
        await _h.Driver.MountAsync("db1", id, _ct);
        return _h.Journal.Get("db1")!;
    }

    /// <summary>Lets the time pass in small steps, so lease renewals (every 10 s of a 30 s lease) keep up.</summary>
    private async Task<IReadOnlyList<string>> CheckAfterAsync(TimeSpan elapsed)
    {
        for (var left = elapsed; left > TimeSpan.Zero; left -= Step)
        {
            _h.Time.Advance(left < Step ? left : Step);
            await Task.Delay(10);
        }

        return await _reaper.CheckAsync(_ct);
    }

    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Check_AContainerHoldsTheDevice_NeverReleased()
    {
        var entry = await MountAsync();
        _otherNamespaces.Add(new MountEntry(entry.Device, "/data", "ext4")); // the container's bind mount

        Assert.Empty(await _reaper.CheckAsync(_ct));
        Assert.Empty(await CheckAfterAsync(Timeout * 3));

        Assert.Equal(1, _h.Journal.Get("db1")!.TotalRefs);
        Assert.Contains("db1", _h.Renewer.Held);
    }

    [Fact]
    public async Task Check_NoContainerForTheTimeout_ReleasedAsIfUnmounted()
    {
        var entry = await MountAsync();

        Assert.Empty(await _reaper.CheckAsync(_ct));
        Assert.Empty(await CheckAfterAsync(Timeout - TimeSpan.FromSeconds(1)));
        Assert.Equal(["db1"], await CheckAfterAsync(TimeSpan.FromSeconds(1)));

        Assert.Null(_h.Journal.Get("db1"));
        Assert.False(_h.Host.Mounts.ContainsKey(entry.Mountpoint));
        Assert.Empty(_h.Host.Mapped);
        Assert.DoesNotContain("db1", _h.Renewer.Held);
        await _h.Driver.UnmountAsync("db1", IdA, _ct); // Docker's late Unmount, if it ever comes: still a success
    }

    [Fact]
    public async Task Check_AMountMeanwhile_TheClockStartsAgain()
    {
        await MountAsync();
        Assert.Empty(await CheckAfterAsync(Timeout - TimeSpan.FromSeconds(1)));

        await _h.Driver.MountAsync("db1", IdB, _ct); // Docker mounted again and has not bind-mounted it yet
        Assert.Empty(await _reaper.CheckAsync(_ct));
        Assert.Empty(await CheckAfterAsync(Timeout - TimeSpan.FromSeconds(1)));

        Assert.Equal(2, _h.Journal.Get("db1")!.TotalRefs);
        Assert.Equal(["db1"], await CheckAfterAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Check_TheContainerWentAway_ReleasedATimeoutLater()
    {
        var entry = await MountAsync();
        var bind = new MountEntry(entry.Device, "/data", "ext4");
        _otherNamespaces.Add(bind);
        Assert.Empty(await CheckAfterAsync(Timeout * 2));

        _otherNamespaces.Remove(bind); // killed by a restarting dockerd, which sends no Unmount
        Assert.Empty(await CheckAfterAsync(TimeSpan.FromSeconds(1)));
        Assert.Empty(await CheckAfterAsync(Timeout - TimeSpan.FromSeconds(1)));
        Assert.Equal(["db1"], await CheckAfterAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Check_OnlyACopyAtOurOwnMountpointElsewhere_DoesNotCountAsUse()
    {
        // A namespace copied from ours (e.g. a service's private namespace) shows our mount at the same path.
        var entry = await MountAsync();
        _otherNamespaces.Add(new MountEntry(entry.Device, entry.Mountpoint, "ext4"));

        Assert.Empty(await _reaper.CheckAsync(_ct));
        Assert.Equal(["db1"], await CheckAfterAsync(Timeout));
    }
}
