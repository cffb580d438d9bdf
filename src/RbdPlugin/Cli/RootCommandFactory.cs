using System.CommandLine;
using RbdPlugin.Hosting;

namespace RbdPlugin.Cli;

internal static class RootCommandFactory
{
    public static RootCommand Create()
    {
        var root = new RootCommand("rbd-plugin: Docker volumes on Ceph RBD")
        {
            ServeCommand.Create(),
            VolumeCommand.Create(),
            SnapshotCommand.Create(),
            BackupCommand.Create(),
            TrashCommand.Create(),
            HostCommand.Create(),
            KeyCommand.Create(),
            DoctorCommand.Create(),
        };
        return root;
    }

    /// <summary>Parses and runs; a usage error exits with <see cref="ExitCodes.InvalidConfiguration"/> (2), like a bad setting.</summary>
    public static async Task<int> InvokeAsync(string[] args)
    {
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"rbd-plugin: {error.Message}");
            }

            await Console.Error.WriteLineAsync("see `rbd-plugin COMMAND --help` for usage");
            return ExitCodes.InvalidConfiguration;
        }

        return await parse.InvokeAsync();
    }
}
