using System.Diagnostics;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>The docker CLI against the dev engine (DOCKER_HOST from deploy/dev-docker.sh env), as a user types it.</summary>
internal static class DockerCli
{
    public const string Image = "busybox:local";

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout.Trim();

        public Result EnsureSuccess() =>
            ExitCode == 0 ? this : throw new InvalidOperationException($"docker exited {ExitCode}: {Stderr}{Stdout}");
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")))
        {
            throw new InvalidOperationException("DOCKER_HOST is not set: run `eval \"$(deploy/dev-docker.sh env)\"` after `deploy/dev-docker.sh up`");
        }

        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>docker run --rm --network none -v VOLUME:/data busybox:local sh -c SCRIPT</summary>
    public static Task<Result> RunWithVolumeAsync(string volumeSpec, string script, params string[] extra) =>
        RunAsync(["run", "--rm", "--network", "none", .. extra, "-v", volumeSpec, Image, "sh", "-c", script]);
}
