using RbdPlugin.Tests.Infrastructure;

namespace RbdPlugin.Tests.EndToEnd;

/// <summary>
/// Compose as a user writes it (the README's Compose example): a named volume with <c>driver: rbd</c> and
/// <c>driver_opts</c>, driven by Debian's docker-compose 1.29.2 through the real dockerd and the plugin it discovered.
/// </summary>
[Trait("Tier", "Docker")]
[Collection(DockerPluginGroup.Name)]
public sealed class DockerComposeTests(DockerPluginFixture fixture) : IAsyncLifetime
{
    private const string ComposeFile = """
        services:
          app:
            image: busybox:local
            network_mode: none
            volumes:
              - db:/data
            command: ["sh", "-c", "echo written by compose > /data/greeting && sync"]
        volumes:
          db:
            driver: rbd
            driver_opts:
              size: 1G
        """;

    private readonly string _project = DevCluster.NewName();
    private string _file = "";

    /// <summary>Compose names a project's volume PROJECT_NAME.</summary>
    private string Volume => $"{_project}_db";

    public async Task InitializeAsync()
    {
        var directory = Directory.CreateDirectory(Path.Combine(fixture.Root, _project)).FullName;
        _file = Path.Combine(directory, "docker-compose.yml");
        await File.WriteAllTextAsync(_file, ComposeFile);
    }

    public async Task DisposeAsync()
    {
        await DockerCli.ComposeAsync(_project, _file, "down", "-v");
        await DockerCli.RunAsync("volume", "rm", "-f", Volume);
        await VolumeLeftovers.RemoveAsync(Volume);
    }

    [Fact]
    public async Task ComposeUpDownRunDownV_DataSurvivesDownAndTheImageGoesWithTheVolume()
    {
        // Given a Compose file whose service writes to an rbd volume: up creates it with driver_opts, the service writes.
        (await DockerCli.ComposeAsync(_project, _file, "up", "--exit-code-from", "app")).EnsureSuccess("docker-compose up");
        var info = (await CephCli.RunAsync("rbd", "info", "--format", "json", $"{DevCluster.Pool}/{Volume}")).EnsureSuccess("rbd info").Json;
        Assert.Equal(1L << 30, info.GetProperty("size").GetInt64());

        // When the project goes down (keeping volumes) and a second run reads the volume.
        (await DockerCli.ComposeAsync(_project, _file, "down")).EnsureSuccess("docker-compose down");
        var read = (await DockerCli.ComposeAsync(_project, _file, "run", "--rm", "-T", "app", "cat", "/data/greeting")).EnsureSuccess("docker-compose run");

        // Then the data is there; and down -v removes the volume and its image.
        Assert.Equal("written by compose", read.Output);
        (await DockerCli.ComposeAsync(_project, _file, "down", "-v")).EnsureSuccess("docker-compose down -v");
        Assert.DoesNotContain(Volume, (await DockerCli.RunAsync("volume", "ls", "-q")).EnsureSuccess().Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, (await CephCli.RunAsync("rbd", "info", $"{DevCluster.Pool}/{Volume}")).ExitCode);
    }
}
