using Microsoft.Extensions.Logging.Abstractions;
using System.Diagnostics;
using RbdPlugin.Node;

namespace RbdPlugin.Tests.Node;

/// <summary>Runs real, harmless executables: the runner is only trusted once it has started real processes.</summary>
[Trait("Tier", "Fast")]
public sealed class CommandRunnerTests
{
    private readonly CommandRunner _runner = new(NullLogger<CommandRunner>.Instance);

    [Fact]
    public async Task RunAsync_ZeroExit_ReturnsOutput()
    {
        var result = await _runner.RunAsync("/bin/true", [], CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Succeeded);
    }

    [Fact]
    public async Task RunAsync_NonZeroExit_ThrowsWithCommandExitCodeAndStderr()
    {
        var e = await Assert.ThrowsAsync<HostCommandException>(() =>
            _runner.RunAsync("sh", ["-c", "echo err >&2; exit 3"], CancellationToken.None));

        Assert.Equal(3, e.ExitCode);
        Assert.Equal("err", e.Stderr);
        Assert.Equal("sh -c 'echo err >&2; exit 3'", e.CommandLine);
        Assert.Contains("exited with code 3: err", e.Message, StringComparison.Ordinal);
        Assert.False(e.TimedOut);
    }

    [Fact]
    public async Task RunAsync_FalseExits1_Throws()
    {
        var e = await Assert.ThrowsAsync<HostCommandException>(() => _runner.RunAsync("/bin/false", [], CancellationToken.None));

        Assert.Equal(1, e.ExitCode);
    }

    [Fact]
    public async Task TryRunAsync_NonZeroExit_ReturnsResultForTheCallerToClassify()
    {
        var result = await _runner.TryRunAsync("sh", ["-c", "echo out; echo err >&2; exit 2"], CancellationToken.None);

        Assert.Equal(new CommandResult(2, "out\n", "err\n"), result);
    }

    [Fact]
    public async Task RunAsync_ArgumentsWithSpacesQuotesAndShellCharacters_ArriveUnchangedAndUninterpreted()
    {
        string[] args = ["%s\n", "two words", "it's", "\"quoted\"", "back\\slash", "", "$HOME", "; rm -rf /", "*"];

        var result = await _runner.RunAsync("printf", args, CancellationToken.None);

        Assert.Equal(string.Join("", args.Skip(1).Select(a => a + "\n")), result.Stdout);
    }

    [Fact]
    public async Task RunAsync_SecretsInArgumentsAndStderr_NeverReachTheException()
    {
        const string key = "AQBzRkNmAAAAABAAk3Jc0W8Xk2Y7rG5S4hD2bQ==";

        var e = await Assert.ThrowsAsync<HostCommandException>(() => _runner.RunAsync("sh",
            ["-c", $"echo \"[client.docker]\"; echo \"  key = {key}\" >&2; exit 1", "--key", "hunter2", "-o", "name=x,secret=s3cr3t"],
            CancellationToken.None));

        foreach (var text in new[] { e.Message, e.CommandLine, e.Stderr, e.ToString() })
        {
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cr3t", text, StringComparison.Ordinal);
        }
        Assert.Contains("--key *** -o name=x,secret=***", e.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_PastItsTimeout_IsKilledAndReportedAsTimedOut()
    {
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<HostCommandException>(() =>
            _runner.RunAsync("sleep", ["30"], CancellationToken.None, timeout: TimeSpan.FromMilliseconds(300)));

        Assert.True(e.TimedOut);
        Assert.Null(e.ExitCode);
        Assert.Contains("did not finish within 0.3 s", e.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task RunAsync_DefaultTimeout_AppliesWhenTheCallGivesNone()
    {
        var runner = new CommandRunner(NullLogger<CommandRunner>.Instance) { DefaultTimeout = TimeSpan.FromMilliseconds(300) };

        var e = await Assert.ThrowsAsync<HostCommandException>(() => runner.RunAsync("sleep", ["30"], CancellationToken.None));

        Assert.True(e.TimedOut);
    }

    [Fact]
    public async Task RunAsync_CallerCancels_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _runner.RunAsync("sleep", ["30"], cts.Token));
    }

    [Fact]
    public async Task RunAsync_MissingProgram_ThrowsHostCommandExceptionNamingIt()
    {
        var e = await Assert.ThrowsAsync<HostCommandException>(() =>
            _runner.RunAsync("no-such-program-rbd-plugin", ["x"], CancellationToken.None));

        Assert.Null(e.ExitCode);
        Assert.Contains("no-such-program-rbd-plugin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ExtraEnvironment_ReachesTheChildWithTheCLocale()
    {
        var result = await _runner.RunAsync("sh", ["-c", "echo \"$RBD_TEST_VAR $LC_ALL\""], CancellationToken.None,
            new Dictionary<string, string> { ["RBD_TEST_VAR"] = "--id docker" });

        Assert.Equal("--id docker C\n", result.Stdout);
    }

    [Fact]
    public async Task RunAsync_Stdin_IsEmptySoPromptsReadEof()
    {
        var result = await _runner.RunAsync("sh", ["-c", "read answer || echo eof"], CancellationToken.None);

        Assert.Equal("eof\n", result.Stdout);
    }
}
