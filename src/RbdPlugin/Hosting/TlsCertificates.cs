using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RbdPlugin.Hosting;

/// <summary>Loads the PEM files of the TCP listener; every failure names the setting and the file.</summary>
internal static class TlsCertificates
{
    /// <summary>
    /// The server certificate with its key, and any further certificates in the TlsCert file (intermediates), which
    /// are sent to Docker so it can build the chain to its CAFile.
    /// </summary>
    /// <remarks>
    /// CreateFromPemFile gives the key an ephemeral handle. Windows' SChannel cannot use such keys and needs a
    /// PKCS#12 round trip; on Linux OpenSSL uses the key as is (the TLS tests prove it), so none is done here.
    /// </remarks>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServer(string certPath, string keyPath)
    {
        X509Certificate2 certificate;
        var all = new X509Certificate2Collection();
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            all.ImportFromPemFile(certPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw Listeners.Invalid(
                $"TlsCert={certPath} with TlsKey={keyPath}: cannot load the certificate and its private key " +
                $"(PEM, key unencrypted): {e.Message}");
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw Listeners.Invalid($"TlsKey={keyPath} holds no private key for TlsCert={certPath}");
        }

        var chain = new X509Certificate2Collection();
        foreach (var extra in all)
        {
            if (extra.Thumbprint == certificate.Thumbprint)
            {
                extra.Dispose();
            }
            else
            {
                chain.Add(extra);
            }
        }

        return (certificate, chain);
    }

    /// <summary>
    /// Refuses two listeners' CA files that share a certificate: one CA would then admit the same clients on both,
    /// and a certificate issued for scraping metrics could call Mount and Remove.
    /// </summary>
    public static void RequireDisjoint(X509Certificate2Collection docker, X509Certificate2Collection metrics, PluginOptions options)
    {
        ArgumentNullException.ThrowIfNull(docker);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        var shared = docker.Where(d => metrics.Any(m => m.Thumbprint == d.Thumbprint)).Select(c => c.Subject).ToList();
        if (shared.Count > 0)
        {
            throw Listeners.Invalid(
                $"TlsClientCa={options.TlsClientCa} and MetricsTlsClientCa={options.MetricsTlsClientCa} share the CA {string.Join(", ", shared)}: " +
                "a certificate issued for Prometheus could then call Mount and Remove; give the metrics listener a CA of its own");
        }
    }

    /// <summary>The CA certificates (one or more, PEM) that may have signed a client certificate.</summary>
    /// <param name="setting">The setting that names the file, for the error.</param>
    public static X509Certificate2Collection LoadAuthorities(string caPath, string setting = nameof(PluginOptions.TlsClientCa))
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw Listeners.Invalid($"{setting}={caPath}: cannot read the CA certificates (PEM): {e.Message}");
        }

        return authorities.Count > 0
            ? authorities
            : throw Listeners.Invalid($"{setting}={caPath} contains no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
}
