using RbdPlugin.Ceph;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>Test-side image housekeeping through the rbd CLI, as the plugin's own client.</summary>
internal sealed class RbdCli(DevClusterEnv cluster, ICommandRunner runner)
{
    /// <summary>A fresh image with a unique name; features are the cluster's defaults.</summary>
    public async Task<ImageRef> CreateImageAsync(string size, string ns = "")
    {
        var image = new ImageRef(cluster.Pool, ns, "node-test-" + Guid.NewGuid().ToString("N")[..10]);
        // rbd create --size SIZE -c CONF --id ID --keyring KEYRING pool/[ns/]image
        await runner.RunAsync("rbd", ["create", "--size", size, .. cluster.Client.ToArgs(), image.ToString()], CancellationToken.None);
        return image;
    }

    /// <summary>Removes the image; a missing image is fine. A watcher that has not let go yet is waited for briefly.</summary>
    public async Task RemoveImageAsync(ImageRef image)
    {
        for (var attempt = 0; ; attempt++)
        {
            // rbd rm --no-progress -c CONF --id ID --keyring KEYRING pool/[ns/]image
            var result = await runner.TryRunAsync("rbd", ["rm", "--no-progress", .. cluster.Client.ToArgs(), image.ToString()], CancellationToken.None);
            if (result.Succeeded || result.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            {
                return;
            }
            if (attempt >= 40 || !result.Stderr.Contains("watchers", StringComparison.Ordinal))
            {
                throw HostCommandException.FromExit("rbd", ["rm", image.ToString()], result);
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    public Task CreateNamespaceAsync(string ns) =>
        // rbd namespace create -c CONF --id ID --keyring KEYRING pool/ns
        runner.RunAsync("rbd", ["namespace", "create", .. cluster.Client.ToArgs(), $"{cluster.Pool}/{ns}"], CancellationToken.None);

    public Task RemoveNamespaceAsync(string ns) =>
        // rbd namespace remove -c CONF --id ID --keyring KEYRING pool/ns
        runner.TryRunAsync("rbd", ["namespace", "remove", .. cluster.Client.ToArgs(), $"{cluster.Pool}/{ns}"], CancellationToken.None);

    /// <summary>Watchers on the image header: who has it open.</summary>
    public async Task<string> StatusJsonAsync(ImageRef image) =>
        // rbd status --format json -c CONF --id ID --keyring KEYRING pool/[ns/]image
        (await runner.RunAsync("rbd", ["status", "--format", "json", .. cluster.Client.ToArgs(), image.ToString()], CancellationToken.None)).Stdout;
}
