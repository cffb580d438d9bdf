using System.Collections.Concurrent;
using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Fakes;

/// <summary>An in-memory cluster: images with metadata, omap objects, watchers, trash; failures injectable per call.</summary>
internal sealed partial class FakeCeph : ICephImages, ICephSnapshots, ICephTrash, IRadosOmap, IRadosLocks, ICephAdmin
{
    public ConcurrentDictionary<ImageRef, ImageInfo> Images { get; } = new();
    public ConcurrentDictionary<string, ConcurrentDictionary<string, string>> Objects { get; } = new();
    public ConcurrentDictionary<ImageRef, List<Watcher>> Watchers { get; } = new();
    public ConcurrentDictionary<string, TrashEntry> Trash { get; } = new();
    /// <summary>What a trashed image was, by trash id (restore brings it back).</summary>
    public ConcurrentDictionary<string, ImageInfo> TrashedImages { get; } = new();
    /// <summary>Image ids: one per image made here or brought back from the trash (images put in place by a test
    /// directly have "id-NAME").</summary>
    public ConcurrentDictionary<ImageRef, string> ImageIds { get; } = new();
    /// <summary>Allocated bytes per image, for UsedBytes (missing = unknown).</summary>
    public ConcurrentDictionary<ImageRef, ulong> Used { get; } = new();
    public List<string> Calls { get; } = [];

    /// <summary>Object locks by "pool/ns/object/lock": holder and expiry on <see cref="Clock"/>.</summary>
    public ConcurrentDictionary<string, (Locker Holder, DateTimeOffset Expires)> Locks { get; } = new();

    /// <summary>Addresses fenced with BlocklistAdd; calls from a fenced connection fail with ESHUTDOWN.</summary>
    public ConcurrentBag<string> Blocklist { get; } = [];

    /// <summary>The clock lock expiry is judged by (the OSD's clock).</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>This connection's id: a daemon restart gets a new one, like a new librados instance.</summary>
    public ulong InstanceId { get; set; } = 4100;

    public string ClientName => $"client.{InstanceId}";

    public string InstanceAddress => $"127.0.0.1:0/{InstanceId}";

    /// <summary>Return an exception to make the named call ("CreateImage", "SetOmapKey", ...) fail.</summary>
    public Func<string, Exception?> FailOn { get; set; } = _ => null;

    private int? _callsUntilKilled;
    private bool _killed;

    /// <summary>
    /// Simulates kill -9 of the daemon before its <paramref name="callsFromNow"/>-th next call (0 = the next one):
    /// that call and every later one throw <see cref="ProcessKilledException"/>, so no cleanup reaches the cluster,
    /// until <see cref="Revive"/> (the restarted daemon).
    /// </summary>
    public void KillBeforeCall(int callsFromNow)
    {
        _callsUntilKilled = callsFromNow;
        _killed = false;
    }

    /// <summary>The daemon is running again: calls reach the cluster.</summary>
    public void Revive()
    {
        _callsUntilKilled = null;
        _killed = false;
    }

    private void Call(string name)
    {
        lock (Calls)
        {
            if (_callsUntilKilled is { } left)
            {
                _killed |= left <= 0;
                _callsUntilKilled = left - 1;
            }

            if (_killed)
            {
                throw new ProcessKilledException(name);
            }

            Calls.Add(name);
        }

        if (FailOn(name) is { } e)
        {
            throw e;
        }
    }

    /// <summary>Two steps, as in librbd: the image (rbd_create4), then its metadata ("CreateImage:metadata"), which
    /// removes the image again when it fails — unless the daemon died in between.</summary>
    public Task CreateImageAsync(ImageCreateRequest request, CancellationToken ct)
    {
        Call("CreateImage");
        var info = new ImageInfo(request.Image, request.SizeBytes, request.Features ?? 61, new Dictionary<string, string>());
        if (!Images.TryAdd(request.Image, info))
        {
            throw new CephException("rbd_create4", Errno.EEXIST);
        }

        ImageIds[request.Image] = Guid.NewGuid().ToString("N")[..12];
        if (request.Metadata.Count == 0)
        {
            return Task.CompletedTask;
        }

        try
        {
            Call("CreateImage:metadata");
        }
        catch (Exception e) when (e is not ProcessKilledException)
        {
            Images.TryRemove(request.Image, out _);
            throw;
        }

        Images[request.Image] = info with { Metadata = Written(new Dictionary<string, string>(), request.Metadata) };
        return Task.CompletedTask;
    }

    public Task RenameImageAsync(ImageRef image, string newName, CancellationToken ct)
    {
        Call("RenameImage");
        var target = image with { Name = newName };
        lock (Images)
        {
            if (Images.ContainsKey(target))
            {
                throw new CephException("rbd_rename", Errno.EEXIST);
            }

            if (!Images.TryRemove(image, out var info))
            {
                throw new CephException("rbd_rename", Errno.ENOENT);
            }

            Images[target] = info with { Image = target };
            if (ImageIds.TryRemove(image, out var id))
            {
                ImageIds[target] = id;
            }

            if (Clones.Remove(image))
            {
                Clones.Add(target);
            }
        }

        return Task.CompletedTask;
    }

    public Task UpdateImageMetadataAsync(ImageRef image, IReadOnlyDictionary<string, string?> entries, CancellationToken ct)
    {
        Call("UpdateImageMetadata");
        var info = Images.TryGetValue(image, out var found) ? found : throw new CephException("rbd_open", Errno.ENOENT);
        Images[image] = info with { Metadata = Written(info.Metadata, entries) };
        return Task.CompletedTask;
    }

    /// <summary>The metadata after the entries are written: a null value removes its key, as in CephImages.</summary>
    private static Dictionary<string, string> Written(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string?> entries)
    {
        var metadata = new Dictionary<string, string>(before);
        foreach (var (key, value) in entries)
        {
            if (value is null)
            {
                metadata.Remove(key);
            }
            else
            {
                metadata[key] = value;
            }
        }

        return metadata;
    }

    public Task<ImageInfo?> StatImageAsync(ImageRef image, IReadOnlyCollection<string> metadataKeys, CancellationToken ct)
    {
        Call("StatImage");
        return Task.FromResult(Images.TryGetValue(image, out var info)
            ? info with { Metadata = info.Metadata.Where(kv => metadataKeys.Contains(kv.Key)).ToDictionary() }
            : null);
    }

    public Task<ImageInfo?> PeekImageAsync(ImageRef image, CancellationToken ct)
    {
        Call("PeekImage");
        return Task.FromResult(Images.TryGetValue(image, out var info) ? info with { Metadata = new Dictionary<string, string>() } : null);
    }

    public Task SetImageMetadataAsync(ImageRef image, string key, string value, CancellationToken ct)
    {
        Call("SetImageMetadata");
        var info = Images[image];
        Images[image] = info with { Metadata = new Dictionary<string, string>(info.Metadata) { [key] = value } };
        return Task.CompletedTask;
    }

    public Task<bool> RemoveImageAsync(ImageRef image, CancellationToken ct)
    {
        Call("RemoveImage");
        ImageIds.TryRemove(image, out _);
        return Task.FromResult(Images.TryRemove(image, out _));
    }

    public Task<string?> TrashImageAsync(ImageRef image, TimeSpan expiry, CancellationToken ct)
    {
        Call("TrashImage");
        if (!Images.TryRemove(image, out var info))
        {
            return Task.FromResult<string?>(null);
        }

        var id = ImageIds.TryRemove(image, out var known) ? known : "id-" + image.Name;
        TrashedImages[id] = info;
        Trash[id] = new TrashEntry(image.Pool, image.Namespace, id, image.Name, Clock.GetUtcNow() + expiry, Clock.GetUtcNow());
        return Task.FromResult<string?>(id);
    }

    public Task<IReadOnlyList<TrashEntry>> ListTrashAsync(string pool, string ns, CancellationToken ct)
    {
        Call("ListTrash");
        return Task.FromResult<IReadOnlyList<TrashEntry>>(Trash.Values.Where(t => t.Pool == pool && t.Namespace == ns).ToList());
    }

    public Task RemoveFromTrashAsync(string pool, string ns, string id, bool force, CancellationToken ct)
    {
        Call("RemoveFromTrash");
        if (!force && Trash.TryGetValue(id, out var entry) && entry.DeferredUntil > Clock.GetUtcNow())
        {
            throw new CephException("rbd_trash_remove", Errno.EPERM);
        }

        Trash.TryRemove(id, out _);
        TrashedImages.TryRemove(id, out _);
        return Task.CompletedTask;
    }

    public Task<bool> RestoreFromTrashAsync(string pool, string ns, string id, string name, CancellationToken ct)
    {
        Call("RestoreFromTrash");
        var image = new ImageRef(pool, ns, name);
        if (!Trash.ContainsKey(id))
        {
            return Task.FromResult(false);
        }

        if (!Images.TryAdd(image, TrashedImages[id] with { Image = image }))
        {
            throw new CephException("rbd_trash_restore", Errno.EEXIST);
        }

        Trash.TryRemove(id, out _);
        TrashedImages.TryRemove(id, out _);
        ImageIds[image] = id;
        return Task.FromResult(true);
    }

    public Task<ulong?> StatTrashedImageAsync(string pool, string ns, string id, CancellationToken ct)
    {
        Call("StatTrashedImage");
        return Task.FromResult(TrashedImages.TryGetValue(id, out var info) ? info.SizeBytes : (ulong?)null);
    }

    public Task<string?> GetImageIdAsync(ImageRef image, CancellationToken ct)
    {
        Call("GetImageId");
        return Task.FromResult(Images.ContainsKey(image) ? ImageIds.GetValueOrDefault(image, "id-" + image.Name) : null);
    }

    public Task<ulong?> UsedBytesAsync(ImageRef image, CancellationToken ct)
    {
        Call("UsedBytes");
        return Task.FromResult(Images.ContainsKey(image) && Used.TryGetValue(image, out var used) ? used : (ulong?)null);
    }

    public Task<IReadOnlyList<Watcher>> ListWatchersAsync(ImageRef image, CancellationToken ct)
    {
        Call("ListWatchers");
        return Task.FromResult<IReadOnlyList<Watcher>>(Watchers.TryGetValue(image, out var list) ? list : []);
    }

    public Task<IReadOnlyDictionary<string, string>> ReadOmapAsync(RadosObject obj, CancellationToken ct)
    {
        Call("ReadOmap");
        return Task.FromResult<IReadOnlyDictionary<string, string>>(
            Objects.TryGetValue(obj.ToString(), out var omap) ? omap.ToDictionary() : new Dictionary<string, string>());
    }

    public Task<IReadOnlyList<string>> ReadOmapKeysAsync(RadosObject obj, CancellationToken ct)
    {
        Call("ReadOmapKeys");
        return Task.FromResult<IReadOnlyList<string>>(Objects.TryGetValue(obj.ToString(), out var omap) ? omap.Keys.ToList() : []);
    }

    public Task<string?> ReadOmapKeyAsync(RadosObject obj, string key, CancellationToken ct)
    {
        Call("ReadOmapKey");
        return Task.FromResult(Objects.TryGetValue(obj.ToString(), out var omap) && omap.TryGetValue(key, out var v) ? v : null);
    }

    public Task SetOmapKeyAsync(RadosObject obj, string key, string value, CancellationToken ct)
    {
        Call("SetOmapKey");
        Objects.GetOrAdd(obj.ToString(), _ => new())[key] = value;
        return Task.CompletedTask;
    }

    public Task RemoveOmapKeyAsync(RadosObject obj, string key, CancellationToken ct)
    {
        Call("RemoveOmapKey");
        if (Objects.TryGetValue(obj.ToString(), out var omap))
        {
            omap.TryRemove(key, out _);
        }

        return Task.CompletedTask;
    }

    public Task RemoveObjectAsync(RadosObject obj, CancellationToken ct)
    {
        Call("RemoveObject");
        ThrowIfFenced();
        Objects.TryRemove(obj.ToString(), out _);
        foreach (var key in Locks.Keys.Where(k => k.StartsWith(obj.ToString() + "/", StringComparison.Ordinal)))
        {
            Locks.TryRemove(key, out _);
        }

        return Task.CompletedTask;
    }

    public Task BlocklistAddAsync(string clientAddress, TimeSpan expiry, CancellationToken ct)
    {
        Call("BlocklistAdd");
        Blocklist.Add(clientAddress);
        return Task.CompletedTask;
    }

    public Task<bool> LockExclusiveAsync(RadosObject obj, string lockName, string cookie, string description,
        TimeSpan duration, LockMode mode, CancellationToken ct)
    {
        Call(mode == LockMode.Renew ? "RenewLock" : "Lock");
        ThrowIfFenced();
        var key = LockKey(obj, lockName);
        var now = Clock.GetUtcNow();
        lock (Locks)
        {
            var held = Locks.TryGetValue(key, out var current) && current.Expires > now ? current.Holder : null;
            var mine = held is not null && held.Client == ClientName && held.Cookie == cookie;
            if ((held is not null && !mine) || (mode == LockMode.Renew && !mine))
            {
                return Task.FromResult(false);
            }

            Locks[key] = (new Locker(ClientName, cookie, InstanceAddress), now + duration);
            Objects.GetOrAdd(obj.ToString(), _ => new());
            return Task.FromResult(true);
        }
    }

    public bool LockExclusiveNow(RadosObject obj, string lockName, string cookie, string description, TimeSpan duration, LockMode mode) =>
        LockExclusiveAsync(obj, lockName, cookie, description, duration, mode, CancellationToken.None).GetAwaiter().GetResult();

    public Task<IReadOnlyList<Locker>> ListLockersAsync(RadosObject obj, string lockName, CancellationToken ct)
    {
        Call("ListLockers");
        ThrowIfFenced();
        var found = Locks.TryGetValue(LockKey(obj, lockName), out var current) && current.Expires > Clock.GetUtcNow();
        return Task.FromResult<IReadOnlyList<Locker>>(found ? [current.Holder] : []);
    }

    public Task BreakLockAsync(RadosObject obj, string lockName, Locker locker, CancellationToken ct)
    {
        Call("BreakLock");
        ThrowIfFenced();
        var key = LockKey(obj, lockName);
        lock (Locks)
        {
            if (Locks.TryGetValue(key, out var current) && current.Holder == locker)
            {
                Locks.TryRemove(key, out _);
            }
        }

        return Task.CompletedTask;
    }

    public Task UnlockAsync(RadosObject obj, string lockName, string cookie, CancellationToken ct)
    {
        Call("Unlock");
        ThrowIfFenced();
        var key = LockKey(obj, lockName);
        lock (Locks)
        {
            if (Locks.TryGetValue(key, out var current) && current.Holder.Client == ClientName && current.Holder.Cookie == cookie)
            {
                Locks.TryRemove(key, out _);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Puts a lock in place as another host's daemon would have taken it.</summary>
    public void HoldLock(string pool, string ns, string objectName, string lockName, Locker holder, TimeSpan duration) =>
        HoldLock(new RadosObject(pool, ns, objectName), lockName, holder, duration);

    /// <summary>Puts a lock in place as another host's daemon would have taken it.</summary>
    public void HoldLock(RadosObject obj, string lockName, Locker holder, TimeSpan duration) =>
        Locks[LockKey(obj, lockName)] = (holder, Clock.GetUtcNow() + duration);

    private void ThrowIfFenced()
    {
        if (Blocklist.Contains(InstanceAddress))
        {
            throw new CephException("fenced", Errno.ESHUTDOWN);
        }
    }

    private static string LockKey(RadosObject obj, string lockName) => $"{obj}/{lockName}";

    /// <summary>Monitor commands sent, in order.</summary>
    public List<string> MonCommands { get; } = [];

    /// <summary>The monitors' answer to a command (default: success).</summary>
    public Func<string, (int Result, string Status)> MonAnswer { get; set; } = _ => (0, "");

    public Task<(int Result, string Status)> BlocklistRemoveAsync(string clientAddress, CancellationToken ct) =>
        ClientAddress.IsValid(clientAddress)
            ? MonCommandAsync($$"""{"prefix": "osd blocklist", "blocklistop": "rm", "addr": "{{clientAddress}}"}""", ct)
            : throw new ArgumentException($"not a client address: {clientAddress}", nameof(clientAddress));

    /// <summary>Not retried: the first answer, like the real one.</summary>
    public Task<(int Result, string Status)> MonCommandAsync(string json, CancellationToken ct)
    {
        Call("MonCommand");
        lock (MonCommands)
        {
            MonCommands.Add(json);
        }

        return Task.FromResult(MonAnswer(json));
    }
}

/// <summary>The daemon was killed (kill -9) at this call: nothing after it runs, no cleanup reaches the cluster.</summary>
internal sealed class ProcessKilledException : Exception
{
    public ProcessKilledException(string call) : base($"killed before {call}") { }

    public ProcessKilledException() : this("a call") { }

    public ProcessKilledException(string message, Exception inner) : base(message, inner) { }
}
