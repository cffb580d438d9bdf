using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RbdPlugin.Hosting;

/// <summary>
/// One TCP listener's client trust. A certificate is accepted only if it chains to one of that listener's own CAs
/// (TlsClientCa for Docker's listener, MetricsTlsClientCa for the metrics listener), never through a CA of the other
/// listener (so a CA that is an intermediate under the other's root cannot smuggle its certificates across: a
/// Prometheus certificate must never call Mount or Remove), and names client authentication in its extended key
/// usage. System roots play no part (a public CA must not be able to mint a client of this plugin), revocation is
/// not checked (no CRL endpoint to reach, and the plugin must not call out).
/// </summary>
/// <param name="authorities">The CAs this listener trusts.</param>
/// <param name="foreign">The other listener's CAs: a chain through any of them is refused here.</param>
/// <param name="listener">The listener and its setting, for the log, e.g. "Docker's TCP listener (TlsClientCa)".</param>
internal sealed class TlsClientCertificateValidator(X509Certificate2Collection authorities, X509Certificate2Collection foreign, string listener, ILogger logger)
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private readonly HashSet<string> _foreign = foreign.Select(c => c.Thumbprint).ToHashSet(StringComparer.OrdinalIgnoreCase);

    public TlsClientCertificateValidator(X509Certificate2Collection authorities, ILogger logger)
        : this(authorities, [], "the TCP listener", logger)
    {
    }

    /// <summary>The signature of HttpsConnectionAdapterOptions.ClientCertificateValidation.</summary>
    public bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var problem = Problem(certificate, presented);
        if (problem is null)
        {
            return true;
        }

        ListenersLog.ClientCertificateRejected(logger, certificate.Subject, certificate.Issuer, certificate.Thumbprint,
            $"{problem} (on {listener})");
        return false;
    }

    private string? Problem(X509Certificate2 certificate, X509Chain? presented)
    {
        // Without the extension a certificate is good for every purpose, X509Chain's ApplicationPolicy included: a
        // server or CA certificate would pass. Client certificates of this plugin must say what they are for.
        if (!certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages[ClientAuthentication.Value!] is not null))
        {
            return "it does not name client authentication (EKU 1.3.6.1.5.5.7.3.2, extendedKeyUsage=clientAuth)";
        }

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

        if (!chain.Build(certificate))
        {
            var reasons = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
            return string.IsNullOrEmpty(reasons) ? "its chain does not lead to this listener's CA" : reasons;
        }

        var through = chain.ChainElements.Select(e => e.Certificate).FirstOrDefault(c => _foreign.Contains(c.Thumbprint));
        return through is null ? null : $"it chains through {through.Subject}, a CA trusted only by the other listener";
    }
}
