namespace RbdPlugin.Tests.Infrastructure;

/// <summary>The docker CLI against the dev engine (DOCKER_HOST from deploy/dev-docker.sh env), as a user types it.</summary>
internal static class DockerCli
{
    public const string Image = "busybox:local";

    public static Task<ToolResult> RunAsync(params string[] args) => ToolProcess.RunAsync(RequireEngine("docker"), args);

    /// <summary>Debian's docker-compose (1.29.2) on the same engine: docker-compose -p PROJECT -f FILE ARGS.</summary>
    public static Task<ToolResult> ComposeAsync(string project, string file, params string[] args) =>
        ToolProcess.RunAsync(RequireEngine("docker-compose"), ["-p", project, "-f", file, "--ansi", "never", .. args]);

    /// <summary>docker run --rm --network none -v VOLUME:/data busybox:local sh -c SCRIPT</summary>
    public static Task<ToolResult> RunWithVolumeAsync(string volumeSpec, string script, params string[] extra) =>
        RunAsync(["run", "--rm", "--network", "none", .. extra, "-v", volumeSpec, Image, "sh", "-c", script]);

    private static string RequireEngine(string program) => string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST"))
        ? throw new InvalidOperationException("DOCKER_HOST is not set: run `eval \"$(deploy/dev-docker.sh env)\"` after `deploy/dev-docker.sh up`")
        : program;
}
