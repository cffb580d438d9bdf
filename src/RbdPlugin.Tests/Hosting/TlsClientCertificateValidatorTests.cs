using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Hosting;

namespace RbdPlugin.Tests.Hosting;

/// <summary>The client-certificate decision on its own, without a handshake.</summary>
[Trait("Tier", "Fast")]
public sealed class TlsClientCertificateValidatorTests : IDisposable
{
    private readonly X509Certificate2 authority = TestCertificates.CreateAuthority("rbd-plugin test CA");

    public void Dispose() => authority.Dispose();

    private TlsClientCertificateValidator Validator => new([authority], NullLogger.Instance);

    [Fact]
    public void Validate_ClientCertificateFromCa_AcceptedWhateverKestrelsSystemRootChainSaid()
    {
        using var client = TestCertificates.IssueClient(authority);

        Assert.True(Validator.Validate(client, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Validate_CertificateOnlyForServerAuthentication_Rejected()
    {
        using var serverOnly = TestCertificates.IssueServer(authority);

        Assert.False(Validator.Validate(serverOnly, null, SslPolicyErrors.None));
    }

    [Fact]
    public void Validate_CertificateWithoutAnyExtendedKeyUsage_RejectedThoughX509WouldAllowItAnyPurpose()
    {
        using var anyPurpose = TestCertificates.IssueWithoutUsage(authority);

        Assert.False(Validator.Validate(anyPurpose, null, SslPolicyErrors.None));
    }

    [Fact]
    public void Validate_SelfSignedCertificate_Rejected()
    {
        using var self = TestCertificates.CreateAuthority("dockerd");

        Assert.False(Validator.Validate(self, null, SslPolicyErrors.None));
    }

    [Fact]
    public void Validate_OtherCaWithItsRootPresented_RejectedBecausePresentedRootsAreNotTrusted()
    {
        using var other = TestCertificates.CreateAuthority("someone else's CA");
        using var client = TestCertificates.IssueClient(other);
        using var presented = new X509Chain();
        presented.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        presented.ChainPolicy.CustomTrustStore.Add(other);
        presented.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(presented.Build(client));

        Assert.False(Validator.Validate(client, presented, SslPolicyErrors.None));
    }
}
