using System.Text.Json;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd.Kernel;

/// <summary>
/// <c>-o encrypted=true</c> for real: cryptsetup and dm-crypt over krbd and rbd-nbd in the guest's stock kernel, two
/// daemons as two hosts in mount namespaces of their own. One volume per mapper goes through its whole life, because
/// every step costs seconds in the emulated guest: round trip with one luksFormat and one mkfs, no cleartext in a raw
/// export, a host with another key refused with nothing mapped, key rotation, then each host mounting with the key
/// file they share.
/// </summary>
public sealed class KernelEncryptionTests(KernelGuest guest) : KernelTest(guest)
{
    private static readonly string[] LeaseArgs = ["--lease-duration", "12s", "--ceph-timeout", "4s", "--lease-wait", "1s"];

    public static TheoryData<string> Mappers => ["krbd", "nbd"];

    [Theory]
    [MemberData(nameof(Mappers))]
    public async Task Encrypted_RoundTrip_NoCleartextInTheImage_WrongKeyRefused_RotationThenBothHostsMountWithTheSharedKey(string mapper)
    {
        var keys = $"/run/rbd-kernel-tests/keys-{mapper}-{Guid.NewGuid():N}";
        (await Guest.ExecAsync("mkdir", "-p", keys)).EnsureSuccess();
        var (oldKey, newKey) = ($"{keys}/kek-old", $"{keys}/kek-new");
        (await Guest.ExecAsync(KernelGuest.Daemon, "key", "generate", oldKey)).EnsureSuccess();
        (await Guest.ExecAsync(KernelGuest.Daemon, "key", "generate", newKey)).EnsureSuccess();
        var a = await StartPluginAsync(mapper, "host-a", await NewHostNamespaceAsync(), [.. LeaseArgs, "--encryption-key-file", oldKey]);
        var b = await StartPluginAsync(mapper, "host-b", await NewHostNamespaceAsync(), [.. LeaseArgs, "--encryption-key-file", newKey]);
        var volume = NewVolume();
        await a.CreateAsync(volume, new() { ["size"] = "128M", ["encrypted"] = "true" });
        var marker = "RBD-PLUGIN-CLEARTEXT-MARKER-" + Guid.NewGuid().ToString("N");

        // Round trip on host-a: LUKS2 under the filesystem, the mount on the crypt device.
        var onA = await a.MountAsync(volume, IdA);
        var source = await Guest.MountSourceAsync(onA, a.Namespace);
        Assert.StartsWith("/dev/mapper/rbd-plugin-", source, StringComparison.Ordinal);
        var device = Assert.Single(await Guest.MappedDevicesAsync(mapper, volume));
        Assert.True((await Guest.ExecAsync("cryptsetup", "isLuks", device)).Succeeded, $"{device} carries no LUKS header");
        Assert.Equal(JsonValueKind.True, (await a.GetAsync(volume))!.Value.GetProperty("Status").GetProperty("encrypted").ValueKind);
        (await Guest.Agent.ExecAsync(KernelGuest.In(a.Namespace, "/bin/bash", "-c",
            "for i in $(seq 1 2000); do printf '%s\\n' \"$1\"; done > \"$2\" && sync \"$2\"", "write-marker", marker, $"{onA}/marker.txt"))).EnsureSuccess();
        var written = await Guest.Sha256Async($"{onA}/marker.txt", a.Namespace);
        await a.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(a, volume);
        Assert.Equal("", await Guest.CryptDevicesOfAsync(volume));

        // What Ceph holds is ciphertext: a raw export carries the LUKS header and not one copy of the marker.
        var export = $"{keys}/export.img";
        (await Guest.RbdAsync("export", "--no-progress", $"{KernelGuest.Pool}/{volume}", export)).EnsureSuccess();
        Assert.True((await Guest.ExecAsync("cryptsetup", "isLuks", export)).Succeeded, "the exported image is not LUKS");
        var grep = await Guest.ExecAsync("grep", "-c", "-a", "-F", marker, export);
        Assert.Equal(1, grep.ExitCode); // 1: no line matched (0 would be a leak, 2 an error)
        (await Guest.ExecAsync("rm", "-f", export)).EnsureSuccess();

        var again = await a.MountAsync(volume, IdB);
        Assert.Equal(written, await Guest.Sha256Async($"{again}/marker.txt", a.Namespace));
        Assert.Equal(1, a.FormatCount(volume));
        Assert.Equal(1, LuksFormats(a, volume));
        await a.UnmountAsync(volume, IdB);
        await WaitReleasedAsync(a, volume);

        // host-b has another key-encryption key: refused before anything is mapped or opened.
        var wrong = await Assert.ThrowsAsync<PluginErrorException>(() => b.MountAsync(volume, IdB));
        Assert.Contains("is not the key the volume was wrapped with", wrong.Err, StringComparison.Ordinal);
        Assert.Empty(await Guest.MappedDevicesAsync(mapper, volume));
        Assert.Equal("", await Guest.CryptDevicesOfAsync(volume));
        Assert.DoesNotContain(b.Log, l => l.Contains(marker, StringComparison.Ordinal));

        // Rotation under the new key (idempotent), run where the old key is.
        var rotated = await a.CliAsync("key", "rotate", "--new-key-file", newKey, "--encryption-key-file", oldKey, "--json");
        Assert.True(rotated.Succeeded, rotated.Stderr);
        Assert.Contains("\"rewrapped\"", rotated.Stdout, StringComparison.Ordinal);
        var twice = await a.CliAsync("key", "rotate", "--new-key-file", newKey, "--encryption-key-file", oldKey, "--json");
        Assert.True(twice.Succeeded, twice.Stderr);
        Assert.Contains("\"current\"", twice.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\"rewrapped\"", twice.Stdout, StringComparison.Ordinal);

        // The old key no longer opens it; host-b's (the new) does: migration to the other host.
        var old = await Assert.ThrowsAsync<PluginErrorException>(() => a.MountAsync(volume, IdA));
        Assert.Contains("is not the key the volume was wrapped with", old.Err, StringComparison.Ordinal);
        var onB = await b.MountAsync(volume, IdB);
        Assert.Equal(written, await Guest.Sha256Async($"{onB}/marker.txt", b.Namespace));
        var fromB = await Guest.WriteRandomAsync($"{onB}/from-b", mib: 2, b.Namespace);
        await b.UnmountAsync(volume, IdB);
        await WaitReleasedAsync(b, volume);

        // host-a gets the shared new key file and takes the volume back, with host-b's data; still one luksFormat.
        await a.StopAsync();
        var a2 = await RestartAsync(a, [.. LeaseArgs, "--encryption-key-file", newKey]);
        var back = await a2.MountAsync(volume, IdA);
        Assert.Equal(fromB, await Guest.Sha256Async($"{back}/from-b", a2.Namespace));
        Assert.Equal(written, await Guest.Sha256Async($"{back}/marker.txt", a2.Namespace));
        Assert.Equal(1, LuksFormats(a2, volume) + LuksFormats(b, volume));
        await a2.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(a2, volume);
        Assert.Equal("", await Guest.CryptDevicesOfAsync(volume));
    }

    /// <summary>
    /// Backup and restore keep a volume encrypted and openable: the restored image's LUKS header is the source's, its
    /// passphrase rewrapped for the new name, so it opens (no luksFormat, no mkfs) with the same bytes; a host with
    /// another key-encryption key is refused and nothing is created. The restore path is the same for every mapper
    /// (rbd import-diff), so krbd alone proves the open.
    /// </summary>
    [Fact]
    public async Task EncryptedBackup_RestoredUnderANewName_OpensWithTheSameBytes_OnlyWithTheKey()
    {
        var keys = $"/run/rbd-kernel-tests/keys-backup-{Guid.NewGuid():N}";
        var (key, other, backups) = ($"{keys}/kek", $"{keys}/kek-other", $"{keys}/backups");
        (await Guest.ExecAsync("mkdir", "-p", backups)).EnsureSuccess();
        (await Guest.ExecAsync(KernelGuest.Daemon, "key", "generate", key)).EnsureSuccess();
        (await Guest.ExecAsync(KernelGuest.Daemon, "key", "generate", other)).EnsureSuccess();
        var a = await StartPluginAsync("krbd", "host-a", null, [.. LeaseArgs, "--encryption-key-file", key]);
        var (volume, restored) = (NewVolume(), NewVolume());
        await a.CreateAsync(volume, new() { ["size"] = "128M", ["encrypted"] = "true" });
        var mounted = await a.MountAsync(volume, IdA);
        var written = await Guest.WriteRandomAsync($"{mounted}/data", mib: 4);
        await a.UnmountAsync(volume, IdA);
        await WaitReleasedAsync(a, volume);

        // Made without the key (a backup host needs none), restored only with it.
        var made = await a.CliAsync("backup", "create", volume, backups, "--json");
        Assert.True(made.Succeeded, made.Stderr);
        var wrong = await a.CephCliAsync("backup", "restore", backups, restored, "--json", "--encryption-key-file", other);
        Assert.False(wrong.Succeeded, wrong.Stdout);
        Assert.Contains("is not the key the volume was wrapped with", wrong.Stderr, StringComparison.Ordinal);
        Assert.False((await Guest.RbdAsync("info", $"{KernelGuest.Pool}/{restored}")).Succeeded, $"{restored} was created by a refused restore");
        var ok = await a.CephCliAsync("backup", "restore", backups, restored, "--json", "--encryption-key-file", key);
        Assert.True(ok.Succeeded, ok.Stderr);

        var back = await a.MountAsync(restored, IdB);
        Assert.StartsWith("/dev/mapper/rbd-plugin-", await Guest.MountSourceAsync(back, a.Namespace), StringComparison.Ordinal);
        Assert.Equal(written, await Guest.Sha256Async($"{back}/data", a.Namespace));
        Assert.Equal(0, a.FormatCount(restored));
        Assert.Equal(0, LuksFormats(a, restored));
        await a.UnmountAsync(restored, IdB);
        await WaitReleasedAsync(a, restored);
        Assert.Equal("", await Guest.CryptDevicesOfAsync(restored));
        (await Guest.ExecAsync("rm", "-rf", keys)).EnsureSuccess();
    }

    private static int LuksFormats(GuestPlugin plugin, string volume) =>
        plugin.Log.Count(l => l.Contains("\"@m\":\"Wrote a LUKS2 header", StringComparison.Ordinal) && l.Contains(volume, StringComparison.Ordinal));

}
