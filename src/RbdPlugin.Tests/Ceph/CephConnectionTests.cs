using Microsoft.Extensions.Logging.Abstractions;
using RbdPlugin.Ceph;
using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.Ceph;

public sealed class CephConnectionTests(CephClusterFixture fixture) : ClusterTest(fixture)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Connect_AsTheDevClient_HasAnInstanceIdAndALoopbackAddress()
    {
        Assert.NotEqual(0UL, Cluster.InstanceId);
        Assert.Matches(@"^127\.0\.0\.1:0/\d+$", Cluster.InstanceAddress);
    }

    [Fact]
    public async Task Connect_WrongKey_FailsFastWithoutShowingTheKey()
    {
        // A keyring with a well-formed but wrong key: the error names the keyring's path, never its content.
        const string wrongKey = "AQBrb25nAAAAABAAwrongwrongwrongwrongwrong0==";
        var keyring = Path.GetTempFileName();
        await File.WriteAllTextAsync(keyring, $"[client.{DevCluster.ClientId}]\n\tkey = {wrongKey}\n");
        try
        {
            var options = DevCluster.Options(TimeSpan.FromSeconds(5)) with { KeyringPath = keyring };
            var started = DateTime.UtcNow;

            var error = await Assert.ThrowsAsync<CephException>(() => CephConnection.ConnectAsync(options, NullLogger.Instance, None));

            Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(15));
            Assert.DoesNotContain(wrongKey, error.ToString(), StringComparison.Ordinal);
            Assert.Contains("rados_connect", error.Operation, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(keyring);
        }
    }

    [Fact]
    public async Task Connect_MissingConf_ThrowsEnoentNamingTheFile()
    {
        var options = DevCluster.Options() with { ConfPath = "/nonexistent/ceph.conf" };

        var error = await Assert.ThrowsAsync<CephException>(() => CephConnection.ConnectAsync(options, NullLogger.Instance, None));

        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.Contains("/nonexistent/ceph.conf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlocklistAdd_FakeAddress_ShowsUpInOsdBlocklist()
    {
        var address = $"127.0.0.1:0/{Random.Shared.Next(100_000, int.MaxValue)}";
        try
        {
            await Cluster.Admin.BlocklistAddAsync(address, TimeSpan.FromMinutes(5), None);

            var list = (await CephCli.RunAsync("ceph", "osd", "blocklist", "ls", "--format", "json")).EnsureSuccess("ceph osd blocklist ls").FirstJson;
            Assert.Contains(list.EnumerateArray(), e => e.GetProperty("addr").GetString() == address);
        }
        finally
        {
            (await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "rm", address)).EnsureSuccess("ceph osd blocklist rm (as client.admin)");
        }
    }

    [Fact]
    public async Task BlocklistAdd_AnotherConnectionsAddress_FencesThatConnection()
    {
        // The many-hosts case: host B fences crashed host A by the address A's connection reported.
        var image = await CreateImageAsync();
        var fenced = await DevCluster.ConnectAsync(TimeSpan.FromSeconds(10));
        var address = fenced.InstanceAddress;
        try
        {
            Assert.NotNull(await fenced.Images.StatImageAsync(image, [], None));

            await Cluster.Admin.BlocklistAddAsync(address, TimeSpan.FromMinutes(5), None);

            // A blocklisted client gets EBLOCKLISTED (= ESHUTDOWN), which is not retried.
            var error = await Assert.ThrowsAsync<CephException>(() => fenced.Images.SetImageMetadataAsync(image, "k", "v", None));
            Assert.Equal(Errno.EBLOCKLISTED, error.Errno);
            Assert.NotNull(await Cluster.Images.StatImageAsync(image, [], None));
        }
        finally
        {
            await fenced.DisposeAsync();
            (await CephCli.RunAdminAsync("ceph", "osd", "blocklist", "rm", address)).EnsureSuccess("ceph osd blocklist rm (as client.admin)");
        }
    }
}
