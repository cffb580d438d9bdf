using System.Security.Cryptography;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>SHA-256 of every byte of an image (or IMAGE@SNAP), streamed from `rbd export IMAGE -`: the byte-exactness check.</summary>
internal static class RbdImageHash
{
    public static async Task<string> Sha256Async(string imageSpec)
    {
        using var process = ToolProcess.Start("rbd",
            ["-c", DevCluster.ConfPath, "--id", DevCluster.ClientId, "--keyring", DevCluster.KeyringPath, "export", "--no-progress", imageSpec, "-"],
            withoutCephArgs: true);
        var stderr = process.StandardError.ReadToEndAsync();
        var hash = await SHA256.HashDataAsync(process.StandardOutput.BaseStream);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return process.ExitCode == 0
            ? Convert.ToHexStringLower(hash)
            : throw new InvalidOperationException($"rbd export {imageSpec} exited {process.ExitCode}: {await stderr}");
    }
}
