using System.Runtime.InteropServices;

namespace RbdPlugin.Volumes;

/// <summary>
/// Durable replace of a small file: write a temp file, fsync it, rename over the target, fsync the directory.
/// After a crash or power loss the file is either the old or the new content, never half of each — which is what
/// "the journal is on disk before we reply" needs.
/// </summary>
internal static partial class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
            SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
    }

    private static void SyncDirectory(string directory)
    {
        const int ORdonly = 0, ODirectory = 0x10000;
        var fd = Open(directory, ORdonly | ODirectory);
        if (fd < 0)
        {
            return; // Best effort: the rename itself already happened; only power-loss durability is weaker.
        }

        _ = Fsync(fd);
        _ = Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
