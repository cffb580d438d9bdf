using RbdPlugin.Ceph;
using RbdPlugin.Volumes;

namespace RbdPlugin.Tests.Volumes.Encryption;

/// <summary>The wrapping of a volume's passphrase under the key-encryption key, and every way it must refuse.</summary>
[Trait("Tier", "Fast")]
public sealed class WrappedPassphraseTests : IDisposable
{
    private static readonly ImageRef Db1 = new("rbd", "", "db1");
    private readonly KeyEncryptionKey _kek = KeyEncryptionKey.Generate();
    private readonly KeyEncryptionKey _other = KeyEncryptionKey.Generate();

    public void Dispose()
    {
        _kek.Dispose();
        _other.Dispose();
    }

    [Fact]
    public void Wrap_ThenUnwrapWithTheSameKey_GivesThePassphraseBack()
    {
        var passphrase = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

        var wrapped = WrappedPassphrase.FromJson(WrappedPassphrase.Wrap(passphrase, Db1, _kek).ToJson())!;

        Assert.Equal(passphrase, wrapped.Unwrap(Db1, _kek, "db1"));
        Assert.Equal(_kek.Kid, wrapped.Kid);
        Assert.DoesNotContain(Convert.ToBase64String(passphrase), wrapped.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void New_TwoVolumes_GetDifferentPassphrasesAndNonces()
    {
        var a = WrappedPassphrase.New(Db1, _kek);
        var b = WrappedPassphrase.New(Db1, _kek);

        Assert.NotEqual(a.Unwrap(Db1, _kek, "db1"), b.Unwrap(Db1, _kek, "db1"));
        Assert.NotEqual(a.Nonce, b.Nonce);
    }

    [Fact]
    public void Unwrap_AnotherKey_SaysTheKeyFileIsNotTheVolumesKey()
    {
        var wrapped = WrappedPassphrase.New(Db1, _kek);

        var e = Assert.Throws<VolumeException>(() => wrapped.Unwrap(Db1, _other, "db1"));

        Assert.Contains("this host's EncryptionKeyFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not the key the volume was wrapped with", e.Message, StringComparison.Ordinal);
        Assert.Contains(_kek.Kid, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ciphertext")]
    [InlineData("nonce")]
    [InlineData("tag")]
    public void Unwrap_OneBitChanged_IsRefused(string field)
    {
        var wrapped = WrappedPassphrase.New(Db1, _kek);
        var tampered = field switch
        {
            "ciphertext" => wrapped with { Ciphertext = FlipFirstBit(wrapped.Ciphertext) },
            "nonce" => wrapped with { Nonce = FlipFirstBit(wrapped.Nonce) },
            _ => wrapped with { Tag = FlipFirstBit(wrapped.Tag) },
        };

        var e = Assert.Throws<VolumeException>(() => tampered.Unwrap(Db1, _kek, "db1"));
        Assert.Contains("does not open", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rbd", "", "db2")]
    [InlineData("rbd-extra", "", "db1")]
    [InlineData("rbd", "team-a", "db1")]
    public void Unwrap_CopiedToAnotherVolumesImage_IsRefused(string pool, string ns, string name)
    {
        var wrapped = WrappedPassphrase.New(Db1, _kek);

        var e = Assert.Throws<VolumeException>(() => wrapped.Unwrap(new ImageRef(pool, ns, name), _kek, name));

        Assert.Contains("copied from another volume's image", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unwrap_KidChangedToTheHostsKey_IsStillRefused()
    {
        // The key id is in the associated data: relabelling a foreign wrapping does not make it open.
        var wrapped = WrappedPassphrase.New(Db1, _other) with { Kid = _kek.Kid };

        Assert.Throws<VolumeException>(() => wrapped.Unwrap(Db1, _kek, "db1"));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{\"version\":1,\"kid\":\"x\"}")]
    public void FromJson_NotOurShape_IsNull(string json) => Assert.Null(WrappedPassphrase.FromJson(json));

    [Fact]
    public void Unwrap_BadBase64OrLengths_IsRefusedAsDamaged()
    {
        var wrapped = WrappedPassphrase.New(Db1, _kek);

        Assert.Contains("not base64", Assert.Throws<VolumeException>(() => (wrapped with { Nonce = "***" }).Unwrap(Db1, _kek, "db1")).Message, StringComparison.Ordinal);
        Assert.Contains("wrong lengths", Assert.Throws<VolumeException>(() => (wrapped with { Tag = "AAAA" }).Unwrap(Db1, _kek, "db1")).Message, StringComparison.Ordinal);
        Assert.Contains("version 2", Assert.Throws<VolumeException>(() => (wrapped with { Version = 2 }).Unwrap(Db1, _kek, "db1")).Message, StringComparison.Ordinal);
    }

    private static string FlipFirstBit(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        bytes[0] ^= 1;
        return Convert.ToBase64String(bytes);
    }
}
