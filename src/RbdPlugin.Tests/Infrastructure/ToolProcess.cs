using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>What a tool printed and how it exited.</summary>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout.Trim();

    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement.Clone();

    /// <summary>The first of several JSON documents printed back to back (`ceph osd blocklist ls` prints the address
    /// list, then the range list).</summary>
    public JsonElement FirstJson
    {
        get
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(Stdout), new JsonReaderOptions { AllowMultipleValues = true });
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.Clone();
        }
    }

    public ToolResult EnsureSuccess(string what = "") =>
        ExitCode == 0 ? this : throw new InvalidOperationException($"{(what.Length > 0 ? what : "the command")} exited {ExitCode}: {Stderr}{Stdout}");
}

/// <summary>
/// The one way the tests start a tool: an argument array (no shell parses it), stdout and stderr captured, every run
/// bounded. <c>CEPH_ARGS</c> from <c>dev-cluster.sh env</c> is dropped for the Ceph tools, which would append it to
/// their argv and let it override an explicit <c>--id</c>.
/// </summary>
internal static class ToolProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Starts <paramref name="program"/>; the caller reads its output and ends it.</summary>
    public static Process Start(string program, IEnumerable<string> args, bool redirectStdin = false, string? workingDirectory = null,
        bool withoutCephArgs = false)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        if (withoutCephArgs)
        {
            info.Environment.Remove("CEPH_ARGS");
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
    }

    /// <summary>Runs to the end (or <paramref name="timeout"/>, then the process is killed and this throws), with
    /// <paramref name="stdin"/> as its input when given.</summary>
    public static async Task<ToolResult> RunAsync(string program, IEnumerable<string> args, TimeSpan? timeout = null, string? stdin = null,
        bool withoutCephArgs = false)
    {
        using var process = Start(program, args, redirectStdin: stdin is not null, withoutCephArgs: withoutCephArgs);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', process.StartInfo.ArgumentList)} did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s");
        }

        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }
}
