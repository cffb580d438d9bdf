using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RbdPlugin.Tests.Hosting;

/// <summary>A throwaway PKI made in-process: CAs, a server certificate for 127.0.0.1, client certificates.</summary>
internal static class TestCertificates
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    public static X509Certificate2 CreateAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>An intermediate CA signed by <paramref name="parent"/>.</summary>
    public static X509Certificate2 IssueAuthority(X509Certificate2 parent, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(parent, true, false));
        using var issued = request.Create(parent, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(20), RandomSerial()); // outlives its leaves (7 days)
        return issued.CopyWithPrivateKey(key);
    }

    public static X509Certificate2 IssueServer(X509Certificate2 authority)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        return Issue(authority, "rbd-plugin", ServerAuthentication, names.Build());
    }

    public static X509Certificate2 IssueClient(X509Certificate2 authority, string name = "dockerd") =>
        Issue(authority, name, ClientAuthentication, null);

    /// <summary>A certificate without an extended key usage extension at all (good for any purpose, by X.509's rules).</summary>
    public static X509Certificate2 IssueWithoutUsage(X509Certificate2 authority, string name = "any-purpose") =>
        Issue(authority, name, null, null);

    /// <summary>Writes the certificate (and its key when asked) as PEM; returns the paths.</summary>
    public static (string Cert, string Key) WritePem(X509Certificate2 certificate, string directory, string name)
    {
        var cert = Path.Combine(directory, $"{name}.crt");
        var key = Path.Combine(directory, $"{name}.key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        using var privateKey = certificate.GetECDsaPrivateKey();
        if (privateKey is not null)
        {
            File.WriteAllText(key, privateKey.ExportPkcs8PrivateKeyPem());
        }

        return (cert, key);
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name, Oid? usage, X509Extension? subjectAlternativeNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        if (usage is not null)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        if (subjectAlternativeNames is not null)
        {
            request.CertificateExtensions.Add(subjectAlternativeNames);
        }

        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), RandomSerial());
        return issued.CopyWithPrivateKey(key);
    }

    private static byte[] RandomSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return serial;
    }
}
