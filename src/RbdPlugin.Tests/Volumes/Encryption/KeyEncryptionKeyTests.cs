using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Encryption;

/// <summary>The key file: its format, its mode check, and that no message ever carries its content.</summary>
[Trait("Tier", "Fast")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KeyEncryptionKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rbd-plugin-kek-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WriteNew_ThenLoad_IsTheSameKeyWithMode0600()
    {
        var path = Path.Combine(_dir, "kek");

        var kid = KeyEncryptionKey.WriteNew(path);

        using var loaded = KeyEncryptionKey.Load(path);
        Assert.Equal(kid, loaded.Kid);
        Assert.Equal(16, kid.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(45, File.ReadAllText(path).Length); // 44 base64 characters and a newline
    }

    [Fact]
    public void WriteNew_ExistingFile_IsNeverOverwritten()
    {
        var path = Path.Combine(_dir, "kek");
        KeyEncryptionKey.WriteNew(path);
        var before = File.ReadAllText(path);

        Assert.Throws<IOException>(() => KeyEncryptionKey.WriteNew(path));
        Assert.Equal(before, File.ReadAllText(path));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void Load_OpenToGroupOrOthers_IsRefusedNamingTheSetting(UnixFileMode extra)
    {
        var path = Path.Combine(_dir, "kek");
        KeyEncryptionKey.WriteNew(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);

        var e = Assert.Throws<KeyFileException>(() => KeyEncryptionKey.Load(path));

        Assert.Contains($"EncryptionKeyFile={path}: mode", e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 0600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Missing_SaysHowToMakeOne()
    {
        var e = Assert.Throws<KeyFileException>(() => KeyEncryptionKey.Load(Path.Combine(_dir, "none")));
        Assert.Contains("rbd-plugin key generate", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("c2hvcnQ=\n")] // 5 bytes
    [InlineData("not base64 at all, but a secret-looking line\n")]
    [InlineData("")]
    public void Load_NotAKey_IsRefusedWithoutEchoingTheContent(string content)
    {
        var path = Path.Combine(_dir, "kek");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var e = Assert.Throws<KeyFileException>(() => KeyEncryptionKey.Load(path));

        Assert.Contains("not a key-encryption key", e.Message, StringComparison.Ordinal);
        if (content.Length > 0)
        {
            Assert.DoesNotContain(content.Trim(), e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Kid_DiffersBetweenKeys_AndIsNotTheKey()
    {
        using var a = KeyEncryptionKey.Generate();
        using var b = KeyEncryptionKey.Generate();

        Assert.NotEqual(a.Kid, b.Kid);
        Assert.DoesNotContain(a.Kid, Convert.ToHexStringLower(a.Bytes), StringComparison.Ordinal);
    }
}
