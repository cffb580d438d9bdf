using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Fakes;

/// <summary>
/// This host as the driver sees it, in memory: a block mapper, the filesystem tools and the mount table, sharing
/// one state so that "mounted" means the same to all three, and dm-crypt (a LUKS header is the blkid signature
/// "crypto_LUKS" of the mapped device, as blkid reports it). Failures injectable per step.
/// </summary>
internal sealed class FakeHost : IBlockMapper, IFilesystem, IMountTable, IMountNamespaces, ICryptDevices
{
    public const string LuksSignature = "crypto_LUKS";

    private readonly Dictionary<ImageRef, string> _lastDevice = [];
    private int _next;

    public string Name { get; init; } = "fake";

    /// <summary>The cluster its mappings' clients watch images on, as rbd-fuse, rbd-nbd and krbd do; none: no watches.</summary>
    public FakeCeph? Cluster { get; set; }

    /// <summary>The client each mapping writes with (its watch on the image), by image.</summary>
    public Dictionary<ImageRef, Watcher> Writers { get; } = [];
    public ulong? SupportedFeatures { get; init; }

    public bool AppliesIoLimits { get; init; } = true;

    public bool OpensEncrypted { get; init; } = true;

    /// <summary>Open crypt devices: dm name → the device under it.</summary>
    public Dictionary<string, string> CryptOpen { get; } = new(StringComparer.Ordinal);

    /// <summary>The passphrase each luksFormat, open and resize was given, in call order.</summary>
    public List<(string Step, byte[] Passphrase)> Passphrases { get; } = [];

    /// <summary>Devices that are not blank although blkid finds nothing on them (data blkid cannot name).</summary>
    public HashSet<string> NotBlank { get; } = new(StringComparer.Ordinal);
    public Dictionary<ImageRef, MappedDevice> Mapped { get; } = [];
    public Dictionary<string, string?> Signatures { get; } = [];
    public Dictionary<string, (string Device, string FsType, IReadOnlyList<string> Options)> Mounts { get; } = [];
    public List<string> Log { get; } = [];

    /// <summary>Mountpoints frozen now (fsfreeze), and every device whose size was refreshed.</summary>
    public HashSet<string> Frozen { get; } = [];

    /// <summary>Device size minus filesystem size per device: what a grow would add.</summary>
    public Dictionary<string, ulong> Room { get; } = [];

    /// <summary>Return an exception to make a step ("map", "probe", "mkfs", "mount", "umount", "unmap", "luksFormat",
    /// "luksOpen", "luksClose", "luksResize") fail.</summary>
    public Func<string, Exception?> FailOn { get; set; } = _ => null;

    private void Step(string name)
    {
        lock (Log)
        {
            Log.Add(name);
        }

        if (FailOn(name) is { } e)
        {
            throw e;
        }
    }

    public Task<MappedDevice> MapAsync(ImageRef image, CancellationToken ct)
    {
        Step("map");
        lock (Mapped)
        {
            if (!Mapped.TryGetValue(image, out var device))
            {
                var n = _next++;
                device = new MappedDevice(image, $"/dev/fake{n}", Name);
                Mapped[image] = device;
                AddWriter(image, n);

                // What is on a device is the image's: mapped again under another name, it still carries it.
                if (_lastDevice.TryGetValue(image, out var before) && Signatures.TryGetValue(before, out var signature))
                {
                    Signatures[device.DevicePath] = signature;
                }

                _lastDevice[image] = device.DevicePath;
            }

            return Task.FromResult(device);
        }
    }

    /// <summary>Devices whose server died while the kernel keeps them for a re-attach (rbd-nbd in a stopped managed plugin).</summary>
    public HashSet<string> AwaitingReattach { get; } = new(StringComparer.Ordinal);

    /// <summary>The server of the image's mapping dies; the device waits for a new one. Its client's watch goes.</summary>
    public void KillServer(ImageRef image)
    {
        lock (Mapped)
        {
            if (Mapped.Remove(image, out var device))
            {
                AwaitingReattach.Add(device.DevicePath);
                RemoveWriter(image);
            }
        }
    }

    public bool AwaitsReattach(MappedDevice device) => AwaitingReattach.Contains(device.DevicePath);

    /// <summary>A new server, with a new client watching the image, serves the waiting device.</summary>
    public Task ReattachAsync(MappedDevice device, CancellationToken ct)
    {
        Step("reattach");
        lock (Mapped)
        {
            if (!AwaitingReattach.Remove(device.DevicePath))
            {
                const string stderr = "rbd-nbd: netlink connect failed: Invalid input data or parameter";
                throw new HostCommandException("rbd device attach", 22, stderr, stderr);
            }

            Mapped[device.Image] = device;
            AddWriter(device.Image, _next++);
        }

        return Task.CompletedTask;
    }

    public Task UnmapAsync(MappedDevice device, CancellationToken ct)
    {
        Step("unmap");
        lock (Mapped)
        {
            AwaitingReattach.Remove(device.DevicePath);
            Mapped.Remove(device.Image);
            RemoveWriter(device.Image);
        }

        return Task.CompletedTask;
    }

    private void AddWriter(ImageRef image, int n)
    {
        if (Cluster is not null)
        {
            var writer = new Watcher($"127.0.0.1:0/{5000 + n}", (ulong)(5000 + n));
            Writers[image] = writer;
            Cluster.Watchers.AddOrUpdate(image, _ => [writer], (_, list) => [.. list, writer]);
        }
    }

    private void RemoveWriter(ImageRef image)
    {
        if (Writers.Remove(image, out var writer) && Cluster is not null)
        {
            Cluster.Watchers.AddOrUpdate(image, _ => [], (_, list) => [.. list.Where(w => w != writer)]);
        }
    }

    /// <summary>Ends the fenced client: the device stays listed until unmapped, as the loop device does.</summary>
    public Task AbandonAsync(MappedDevice device, CancellationToken ct)
    {
        Step("abandon");
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<MappedDevice>> ListMappedAsync(CancellationToken ct)
    {
        lock (Mapped)
        {
            return Task.FromResult<IReadOnlyList<MappedDevice>>(Mapped.Values.ToList());
        }
    }

    public Task<string?> ProbeAsync(string device, CancellationToken ct)
    {
        Step("probe");
        return Task.FromResult(Signatures.GetValueOrDefault(device));
    }

    public Task<bool> IsBlankAsync(string device, CancellationToken ct)
    {
        Step("blank?");
        return Task.FromResult(Signatures.GetValueOrDefault(device) is null && !NotBlank.Contains(device));
    }

    public Task<bool> IsLuksAsync(string device, CancellationToken ct) =>
        Task.FromResult(Signatures.GetValueOrDefault(device) == LuksSignature);

    public Task FormatAsync(string device, ReadOnlyMemory<byte> passphrase, CancellationToken ct)
    {
        Step("luksFormat");
        Passphrases.Add(("luksFormat", passphrase.ToArray()));
        Signatures[device] = LuksSignature;
        return Task.CompletedTask;
    }

    public Task<string> OpenAsync(string device, string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct)
    {
        Step("luksOpen");
        Passphrases.Add(("luksOpen", passphrase.ToArray()));
        CryptOpen[name] = device;
        return Task.FromResult(CryptSetup.MapperPath(name));
    }

    public Task CloseAsync(string name, bool deferred, CancellationToken ct)
    {
        Step(deferred ? "luksClose-deferred" : "luksClose");
        CryptOpen.Remove(name);
        return Task.CompletedTask;
    }

    public Task ResizeAsync(string name, ReadOnlyMemory<byte> passphrase, CancellationToken ct)
    {
        Step("luksResize");
        Passphrases.Add(("luksResize", passphrase.ToArray()));
        return Task.CompletedTask;
    }

    public IReadOnlyList<CryptMapping> ListOpen(string prefix) =>
        [.. CryptOpen.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(c => new CryptMapping(c.Key, c.Value))];

    public Task MakeAsync(string device, string fsType, IReadOnlyList<string> extraOptions, CancellationToken ct, bool zeroed = true)
    {
        ZeroedMkfs.Add(zeroed);
        Step("mkfs");
        Signatures[device] = fsType;
        return Task.CompletedTask;
    }

    /// <summary>The <c>zeroed</c> argument of every mkfs.</summary>
    public List<bool> ZeroedMkfs { get; } = [];

    public Task MountAsync(string device, string mountpoint, string fsType, IReadOnlyList<string> options, CancellationToken ct)
    {
        Step("mount");
        Mounts[mountpoint] = (device, fsType, options);
        return Task.CompletedTask;
    }

    public Task UnmountAsync(string mountpoint, CancellationToken ct)
    {
        Step("umount");
        Mounts.Remove(mountpoint);
        return Task.CompletedTask;
    }

    public Task DetachAsync(string mountpoint, CancellationToken ct)
    {
        Step("umount-lazy");
        Mounts.Remove(mountpoint);
        return Task.CompletedTask;
    }

    public Task RefreshSizeAsync(MappedDevice device, CancellationToken ct)
    {
        Step("refresh");
        return Task.CompletedTask;
    }

    public Task<(ulong Before, ulong After)> GrowToDeviceAsync(string device, string mountpoint, string fsType, ulong minimumGap, CancellationToken ct)
    {
        Step("grow");
        var room = Room.GetValueOrDefault(device);
        Room.Remove(device);
        return Task.FromResult(room >= minimumGap ? (1000UL, 1000 + room) : (1000UL, 1000UL));
    }

    /// <summary>Leaves the growing to <see cref="GrowToDeviceAsync"/>, where the tests count it.</summary>
    public Task<(ulong Before, ulong After)> GrowUnmountedAsync(string device, string fsType, ulong minimumGap, CancellationToken ct) =>
        Task.FromResult((1000UL, 1000UL));

    public Task FreezeAsync(string mountpoint, TimeSpan timeout, CancellationToken ct)
    {
        Step("freeze");
        Frozen.Add(mountpoint);
        return Task.CompletedTask;
    }

    public Task ThawAsync(string mountpoint, CancellationToken ct)
    {
        Step("thaw");
        Frozen.Remove(mountpoint);
        return Task.CompletedTask;
    }

    public IReadOnlyList<MountEntry> Read() => Mounts.Select(m => new MountEntry(m.Value.Device, m.Key, m.Value.FsType)).ToList();

    /// <summary>The host's one mount namespace (tests that need containers' namespaces bring their own).</summary>
    public IReadOnlyList<MountEntry> ReadAll() => Read();
}
