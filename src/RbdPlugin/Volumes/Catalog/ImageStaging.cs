using System.Security.Cryptography;
using RbdPlugin.Ceph;

namespace RbdPlugin.Volumes;

/// <summary>
/// Makes a volume's image so that a kill -9 between any two steps converges (invariant 3). The image is made, with
/// its creation record, under a staging name, and only then renamed to the volume's name: that name never holds a
/// half-made image, so "an image without our record" keeps meaning "not ours". An intent written first (omap of
/// <see cref="IndexObject"/>, key VOLUME/TOKEN) names the staging image, so that the next Create of the volume, or
/// the hourly sweep, removes what a killed Create left. The intents are read back from Ceph and trusted no further
/// than that (invariant 9): only an image whose name is the staging name of the intent's volume is ever removed.
/// </summary>
/// <remarks>
/// Why not an intent alone, with the image made under its final name: an image without metadata under that name
/// could then be ours (killed before the metadata) or anybody's (`rbd create` by hand), and telling them apart would
/// mean adopting or deleting data we may not have created. The staging name carries a random token only our intent
/// knows.
/// </remarks>
internal sealed partial class ImageStaging(IRadosOmap omap, ICephImages images, VolumeCatalog catalog, VolumeSettings settings, TimeProvider time, ILogger<ImageStaging> logger)
{
    public const string IndexObject = "rbd-plugin.staging";

    /// <summary>Another host's intent younger than this may belong to a Create still running there: left alone.
    /// A Create takes seconds; the margin also covers clock skew between hosts.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(10);

    /// <summary>Starts with '.', which no volume name does (<see cref="VolumeName"/>): never a volume's image.</summary>
    private const string Prefix = ".rbd-plugin-staging.";

    private RadosObject Index => new(settings.Pool, settings.Namespace, IndexObject);

    /// <summary>The staging image name of one Create of <paramref name="volume"/>.</summary>
    public static string StagingName(string volume, string token) => $"{Prefix}{token}.{volume}";

    /// <summary>
    /// Makes the image with <paramref name="make"/> (given the staging image to make) and renames it to
    /// <paramref name="final"/>. True when it was made here; false when the name was taken (the caller decides
    /// whether what is there is ours), and then nothing is left. Call <see cref="ClearAsync"/> first.
    /// </summary>
    public async Task<bool> MakeAsync(string volume, ImageRef final, Func<ImageRef, Task> make, CancellationToken ct)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var staging = final with { Name = StagingName(volume, token) };
        var key = $"{volume}/{token}";
        await omap.SetOmapKeyAsync(Index, key, new StagingIntent(volume, staging.Pool, staging.Namespace, staging.Name, settings.HostId, time.GetUtcNow()).ToJson(), ct);
        try
        {
            await make(staging);
            // rbd_rename: atomic in the pool's directory; EEXIST when the name is taken meanwhile.
            await images.RenameImageAsync(staging, final.Name, ct);
        }
        catch (CephException e) when (e.Errno == Errno.EEXIST)
        {
            await DiscardAsync(staging, key);
            return false;
        }
        catch (CephException)
        {
            await DiscardAsync(staging, key);
            throw;
        }

        await ForgetAsync(key);
        return true;
    }

    /// <summary>The hourly pass: clears every intent older than <see cref="AbandonedAfter"/> (a host that died while
    /// creating and never created that name again). Returns how many it cleared.</summary>
    public async Task<int> SweepAbandonedAsync(CancellationToken ct)
    {
        var cleared = 0;
        foreach (var (key, json) in await omap.ReadOmapAsync(Index, ct))
        {
            var intent = StagingIntent.FromJson(json);
            if ((intent is null || time.GetUtcNow() - intent.StartedAt >= AbandonedAfter) && await ClearOneAsync(key, intent, ct))
            {
                cleared++;
            }
        }

        return cleared;
    }

    /// <summary>The creation record on the image, when the image is ours; null when it carries none (not ours).</summary>
    /// <exception cref="VolumeException">Damaged: it carries a record this plugin may not use.</exception>
    public async Task<VolumeRecord?> OurRecordAsync(ImageRef image, CancellationToken ct)
    {
        var info = await images.StatImageAsync(image, [VolumeRecord.MetadataKey], ct);
        return catalog.TrustedImageRecord(image, info?.Metadata.GetValueOrDefault(VolumeRecord.MetadataKey));
    }

    /// <summary>
    /// Removes what killed Creates of <paramref name="volume"/> left (their staging images and intents). The caller
    /// holds the volume's lock on this host, so this host's own intents for it are no Create in flight; another
    /// host's are left alone until <see cref="AbandonedAfter"/>.
    /// </summary>
    public async Task ClearAsync(string volume, CancellationToken ct)
    {
        foreach (var (key, json) in await omap.ReadOmapAsync(Index, ct))
        {
            if (!key.StartsWith(volume + "/", StringComparison.Ordinal))
            {
                continue;
            }

            var intent = StagingIntent.FromJson(json);
            if (intent is not null && intent.Host != settings.HostId && time.GetUtcNow() - intent.StartedAt < AbandonedAfter)
            {
                continue;
            }

            await ClearOneAsync(key, intent, ct);
        }
    }

    /// <summary>Removes the intent's staging image, then the intent. False when the image could not be removed
    /// (open, or with snapshots): the intent stays for a later pass, and the Create that asked goes on.</summary>
    private async Task<bool> ClearOneAsync(string key, StagingIntent? intent, CancellationToken ct)
    {
        var volume = key.Split('/')[0];
        if (intent is not null && intent.Volume == volume && intent.Namespace == settings.Namespace && settings.AllowedPools.Contains(intent.Pool)
            && intent.Image.StartsWith(Prefix, StringComparison.Ordinal) && intent.Image.EndsWith("." + volume, StringComparison.Ordinal))
        {
            var staging = new ImageRef(intent.Pool, intent.Namespace, intent.Image);
            try
            {
                if (await images.RemoveImageAsync(staging, ct))
                {
                    LogCleared(volume, staging.ToString(), intent.Host);
                }
            }
            catch (CephException e) when (e.Errno is Errno.EBUSY or Errno.ENOTEMPTY)
            {
                LogNotCleared(e, staging.ToString());
                return false;
            }
        }
        else
        {
            LogIgnored(key);
        }

        await omap.RemoveOmapKeyAsync(Index, key, ct);
        return true;
    }

    /// <summary>After a failed make or rename: best effort, whatever fails here the next Create or sweep clears.</summary>
    private async Task DiscardAsync(ImageRef staging, string key)
    {
        try
        {
            await images.RemoveImageAsync(staging, CancellationToken.None);
            await omap.RemoveOmapKeyAsync(Index, key, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogDiscardFailed(e, staging.ToString());
        }
    }

    /// <summary>The image is in place: a failure to drop the intent must not fail the Create (its caller would
    /// remove the image); the intent then names an image that is gone, and is dropped later.</summary>
    private async Task ForgetAsync(string key)
    {
        try
        {
            await omap.RemoveOmapKeyAsync(Index, key, CancellationToken.None);
        }
        catch (CephException e)
        {
            LogForgetFailed(e, key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed {Image}, left by a Create of volume {Volume} on host {Host} that did not finish")]
    private partial void LogCleared(string volume, string image, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove staging image {Image} left by a Create that did not finish; a later pass tries again (`rbd status {Image}` shows who has it open)")]
    private partial void LogNotCleared(Exception e, string image);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped staging intent {Key}: it does not name a staging image of its volume; no image was touched")]
    private partial void LogIgnored(string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove staging image {Image} after a failed Create; the next Create of the volume or the hourly sweep will")]
    private partial void LogDiscardFailed(Exception e, string image);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drop staging intent {Key}; it is dropped later")]
    private partial void LogForgetFailed(Exception e, string key);
}
