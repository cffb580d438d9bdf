namespace RbdPlugin;

internal static class Program
{
    public static Task<int> Main(string[] args) => Cli.RootCommandFactory.InvokeAsync(args);
}
