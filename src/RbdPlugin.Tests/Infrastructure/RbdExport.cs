using System.Security.Cryptography;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>An image's (or snapshot's) bytes as one SHA-256, through `rbd export` to a temp file.</summary>
internal static class RbdExport
{
    public static async Task<string> ChecksumAsync(string spec)
    {
        var file = Path.Combine(Path.GetTempPath(), "rbd-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            (await CephCli.RunAsync("rbd", "export", "--no-progress", spec, file)).EnsureSuccess("rbd export");
            await using var stream = File.OpenRead(file);
            return Convert.ToHexString(await SHA256.HashDataAsync(stream));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
