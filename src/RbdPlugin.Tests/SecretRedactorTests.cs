using RbdPlugin.Node;

namespace RbdPlugin.Tests;

[Trait("Tier", "Fast")]
public sealed class SecretRedactorTests
{
    private const string CephxKey = "AQBzRkNmAAAAABAAk3Jc0W8Xk2Y7rG5S4hD2bQ==";

    [Theory]
    [InlineData("key=abc", "key=***")]
    [InlineData("--key=abc", "--key=***")]
    [InlineData("name=docker,secret=abc,noshare", "name=docker,secret=***,noshare")]
    [InlineData("mon_key=abc", "mon_key=***")]
    [InlineData("\tkey = " + CephxKey, "\tkey = ***")]
    [InlineData("failed with " + CephxKey + " inside", "failed with *** inside")]
    [InlineData("--key abc", "--key ***")]
    [InlineData("--keyring /etc/ceph/ceph.client.docker.keyring", "--keyring /etc/ceph/ceph.client.docker.keyring")]
    [InlineData("keyring=/etc/ceph/k", "keyring=/etc/ceph/k")]
    [InlineData("--keyfile /etc/ceph/docker.key", "--keyfile /etc/ceph/docker.key")]
    [InlineData("rbd: map failed: (2) No such file or directory", "rbd: map failed: (2) No such file or directory")]
    [InlineData("", "")]
    public void Text_MasksSecretValuesOnly(string input, string expected) =>
        Assert.Equal(expected, SecretRedactor.Text(input));

    [Fact]
    public void Arguments_ValueAfterKeyOrSecretFlag_IsMasked()
    {
        string[] args = ["map", "--key", "abc", "--secret", "def", "--keyring", "/k", "--id", "docker"];

        Assert.Equal(["map", "--key", "***", "--secret", "***", "--keyring", "/k", "--id", "docker"], SecretRedactor.Arguments(args));
    }

    [Fact]
    public void CommandLine_QuotesArgumentsWithSpacesAndMasksSecrets() =>
        Assert.Equal("rbd device map --key *** 'a b' ''",
            SecretRedactor.CommandLine("rbd", ["device", "map", "--key", "abc", "a b", ""]));

    [Fact]
    public void FromExit_StderrWithKeyringContent_IsMaskedInMessage()
    {
        var e = HostCommandException.FromExit("rbd", ["ls"], new CommandResult(1, "", "[client.docker]\n\tkey = " + CephxKey + "\n"));

        Assert.DoesNotContain(CephxKey, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(CephxKey, e.Stderr, StringComparison.Ordinal);
    }
}
