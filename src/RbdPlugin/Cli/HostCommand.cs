using System.CommandLine;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin host fences [HOST]</c> and <c>host unfence HOST</c>: the clients the plugin blocklisted when it took
/// volumes over from a host, and lifting them once that host is known to write no more (docs/many-hosts.md).
/// </summary>
internal static class HostCommand
{
    public static Command Create()
    {
        var host = new Command("host", "Hosts the plugin fenced when it took their volumes over");

        var fences = CliCommand.Subcommand(host, "fences", "List fenced clients: ADDRESS HOST VOLUME FENCED BY UNTIL", out var fencesFlags, out var fencesJson);
        var fencesHost = new Argument<string?>("HOST") { Description = "Only this host's", Arity = ArgumentArity.ZeroOrOne };
        fences.Arguments.Add(fencesHost);
        fences.SetAction((parse, ct) => CliCommand.RunAsync(parse, fencesFlags, fencesJson,
            (session, c) => session.Get<HostOperations>().ListAsync(parse.GetValue(fencesHost), c),
            CliJsonContext.Default.IReadOnlyListFenceListItem, Table, ct));

        var unfence = CliCommand.Subcommand(host, "unfence",
            "Take a host's fenced clients off Ceph's blocklist once it writes no more (rebooted, or its daemon restarted); needs an admin key",
            out var unfenceFlags, out var unfenceJson);
        var unfenceHost = CliCommand.Argument(unfence, "HOST", "The host id whose fences to lift");
        unfence.SetAction((parse, ct) => CliCommand.RunAsync(parse, unfenceFlags, unfenceJson,
            (session, c) => session.Get<HostOperations>().UnfenceAsync(parse.GetValue(unfenceHost)!, c),
            CliJsonContext.Default.UnfenceResult,
            r => $"host {r.Host}: took {string.Join(", ", r.Unfenced)} off the blocklist\n", ct));
        return host;
    }

    public static string Table(IReadOnlyList<FenceListItem> items) => items.Count == 0
        ? "no fenced clients\n"
        : TextTable.Render(["ADDRESS", "HOST", "VOLUME", "FENCED", "BY", "UNTIL"],
            items.Select(i => new[] { i.Address, i.Host, i.Volume, Rfc3339.Format(i.FencedAt), i.FencedBy, Rfc3339.Format(i.Until) }));
}
