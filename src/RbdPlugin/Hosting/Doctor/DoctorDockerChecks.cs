using System.Net.Sockets;
using System.Text.Json;
using RbdPlugin.Operations;

namespace RbdPlugin.Hosting;

/// <summary>
/// The doctor's checks of the Docker side: the plugin's unix socket answers Plugin.Activate as a volume driver, and
/// dockerd can find it — the socket is in a plugin directory (NAME.sock or NAME/NAME.sock), or a spec file there
/// (NAME.spec holding <c>unix://SOCKET</c>, NAME.json with that Addr) names it.
/// </summary>
internal static class DoctorDockerChecks
{
    /// <summary>Where dockerd looks for plugins: sockets in the first, spec files in all.</summary>
    public static readonly IReadOnlyList<string> DefaultPluginDirs = ["/run/docker/plugins", "/etc/docker/plugins", "/usr/lib/docker/plugins"];

    public static async Task<IReadOnlyList<DoctorCheck>> RunAsync(PluginOptions o, IReadOnlyList<string> pluginDirs, CancellationToken ct)
    {
        if (o.Socket.Length == 0)
        {
            return [DoctorCheck.Pass("plugin socket", $"Socket is empty: the plugin listens only on TCP {o.TcpListen} (not probed: it needs Docker's client certificate)"),
                Discovery($"https://{o.TcpListen}", o.TcpListen, pluginDirs)];
        }

        return [await ActivateAsync(o.Socket, ct), Discovery("unix://" + o.Socket, o.Socket, pluginDirs)];
    }

    private static async Task<DoctorCheck> ActivateAsync(string socket, CancellationToken ct)
    {
        const string name = "plugin socket";
        const string start = "start the plugin (`systemctl start rbd-plugin`, see deploy/docker-plugin-spec, or `rbd-plugin serve`), or set Socket (--socket) to where it listens";
        if (!Path.Exists(socket))
        {
            return DoctorCheck.Fail(name, $"Socket={socket}: does not exist: the plugin is not running here", start);
        }

        using var http = UnixSocketHttpClient.Create(socket, TimeSpan.FromSeconds(10));
        try
        {
            // POST /Plugin.Activate, as dockerd does first.
            using var response = await http.PostAsync(Protocol.Routes.Activate, null, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            return response.IsSuccessStatusCode && ImplementsVolumeDriver(body)
                ? DoctorCheck.Pass(name, $"{socket} answers Plugin.Activate: {body.Trim()}")
                : DoctorCheck.Fail(name, $"{socket} answered Plugin.Activate with {(int)response.StatusCode}: {body.Trim()}",
                    "another program listens there: point Socket at a free path, or stop that program");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
        {
            return DoctorCheck.Fail(name, $"Socket={socket}: nothing answers Plugin.Activate ({e.Message}): the plugin is not running or hung", start);
        }
    }

    private static bool ImplementsVolumeDriver(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("Implements", out var implements) && implements.ValueKind == JsonValueKind.Array
                && implements.EnumerateArray().Any(i => i.GetString() == "VolumeDriver");
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static DoctorCheck Discovery(string address, string endpoint, IReadOnlyList<string> pluginDirs)
    {
        const string name = "docker discovery";
        var socketName = Path.GetFileNameWithoutExtension(endpoint);
        foreach (var dir in pluginDirs)
        {
            if (endpoint == Path.Combine(dir, socketName + ".sock") || endpoint == Path.Combine(dir, socketName, socketName + ".sock"))
            {
                return DoctorCheck.Pass(name, $"dockerd finds volume driver \"{socketName}\" by its socket {endpoint}");
            }
        }

        foreach (var spec in pluginDirs.Where(Directory.Exists).SelectMany(d => Directory.EnumerateFiles(d)).Where(NamesAddress(address)))
        {
            return DoctorCheck.Pass(name, $"{spec} names {address}: volume driver \"{Path.GetFileNameWithoutExtension(spec)}\"");
        }

        var specDir = pluginDirs.Count > 1 ? pluginDirs[1] : pluginDirs[0];
        return DoctorCheck.Fail(name,
            $"dockerd cannot find the plugin: {endpoint} is not a socket in {pluginDirs[0]} and no spec file in {string.Join(", ", pluginDirs)} names {address}",
            address.StartsWith("unix://", StringComparison.Ordinal)
                ? $"write {Path.Combine(specDir, "rbd.spec")} containing `{address}` (deploy/docker-plugin-spec/install.sh does), or set Socket to {Path.Combine(pluginDirs[0], "rbd.sock")}"
                : $"write {Path.Combine(specDir, "rbd.json")} with \"Addr\": \"{address}\" and the TLS files (see deploy/docker-plugin-spec/rbd.json)");
    }

    /// <summary>A NAME.spec whose text is the address, or a NAME.json whose Addr is.</summary>
    private static Func<string, bool> NamesAddress(string address) => path =>
    {
        try
        {
            if (path.EndsWith(".spec", StringComparison.Ordinal))
            {
                return File.ReadAllText(path).Trim() == address;
            }

            if (path.EndsWith(".json", StringComparison.Ordinal))
            {
                using var document = JsonDocument.Parse(File.ReadAllText(path));
                return document.RootElement.TryGetProperty("Addr", out var addr) && addr.GetString() == address;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
        }

        return false;
    };
}
