using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RbdPlugin.Hosting;

/// <summary>
/// Accepts a client certificate only if it chains to a certificate of TlsClientCa: Docker's CertFile, and nobody
/// else's. System roots play no part (a public CA must not be able to mint a client of this plugin), revocation is
/// not checked (no CRL endpoint to reach, and the plugin must not call out), and the certificate must allow
/// client authentication when it states its usages at all.
/// </summary>
internal sealed class TlsClientCertificateValidator(X509Certificate2Collection authorities, ILogger logger)
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>The signature of HttpsConnectionAdapterOptions.ClientCertificateValidation.</summary>
    public bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(certificate);

        // Kestrel's verdict in `errors` comes from a chain built on the system roots: ours replaces it.
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(authorities);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.ApplicationPolicy.Add(ClientAuthentication);

        // Intermediates the client sent help build the path; they are never trust anchors under CustomRootTrust.
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                if (element.Certificate.Thumbprint != certificate.Thumbprint)
                {
                    policy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        if (chain.Build(certificate))
        {
            return true;
        }

        var reasons = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
        ListenersLog.ClientCertificateRejected(logger, certificate.Subject, certificate.Issuer, certificate.Thumbprint,
            string.IsNullOrEmpty(reasons) ? errors.ToString() : reasons);
        return false;
    }
}
