using System.CommandLine;

namespace RbdPlugin.Cli;

internal static class RootCommandFactory
{
    public static RootCommand Create()
    {
        var root = new RootCommand("rbd-plugin: Docker volumes on Ceph RBD") { ServeCommand.Create() };
        return root;
    }
}
