using System.CommandLine;
using System.Text;
using System.Text.Json;
using RbdPlugin.Hosting;
using RbdPlugin.Node;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin doctor</c>: checks what the daemon needs on this host, one line each with OK or FAIL, and for each
/// failure the fix. Reads the configuration exactly as <c>serve</c> does (every setting is a flag here too).
/// Exit code 0 when every check passed, 1 when any failed (2 for a bad command line). Changes nothing, except a
/// probe key in the volume index and a probe image, both removed again at once.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Check configuration, keyring, Ceph reachability and caps, mappers and Docker discovery; print each problem with its fix");
        var json = new Option<bool>("--json") { Description = "Print a JSON array of {name, ok, detail, fix}" };
        var pluginDirs = new Option<string[]>("--docker-plugin-dir")
        {
            Description = $"Where dockerd looks for plugin sockets and spec files (repeatable; default {string.Join(", ", DoctorDockerChecks.DefaultPluginDirs)})",
        };
        command.Options.Add(json);
        command.Options.Add(pluginDirs);
        var flags = SettingFlags.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var dirs = parse.GetValue(pluginDirs) is { Length: > 0 } given ? given : DoctorDockerChecks.DefaultPluginDirs;
            var checks = await RunAsync(parse.GetValue(flags.Config), flags.Given(parse), dirs, ct);
            await Console.Out.WriteAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(checks, DoctorJsonContext.Default.IReadOnlyListDoctorCheck) + "\n"
                : Format(checks));
            return checks.All(c => c.Ok) ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    public static async Task<IReadOnlyList<DoctorCheck>> RunAsync(string? configPath, Dictionary<string, string> flags, IReadOnlyList<string> pluginDirs,
        CancellationToken ct)
    {
        const string config = "configuration";
        var source = configPath ?? (File.Exists(OptionsLoader.DefaultConfigPath) ? OptionsLoader.DefaultConfigPath : "defaults");
        PluginOptions raw;
        try
        {
            raw = OptionsLoader.Load(configPath, flags, Environment.GetEnvironmentVariables());
        }
        catch (OptionsException e)
        {
            // Nothing else can be judged without settings.
            return [DoctorCheck.Fail(config, $"{source}: {string.Join("; ", e.Problems)}", "fix the file (or the RBD_PLUGIN_* variables, flags) as each problem says, then run doctor again")];
        }

        var checks = new List<DoctorCheck>();
        ValidatedOptions? options = null;
        try
        {
            options = OptionsValidator.Validate(raw, checkFiles: false);
            checks.Add(DoctorCheck.Pass(config, $"{source} + RBD_PLUGIN_* + flags: every setting valid"));
        }
        catch (OptionsException e)
        {
            checks.Add(DoctorCheck.Fail(config, $"{source} + RBD_PLUGIN_* + flags: {string.Join("; ", e.Problems)}", "each problem names the setting and its fix (docs/configuration.md)"));
        }

        checks.Add(DoctorHostChecks.Keyring(raw));
        if (raw.EncryptionKeyFile.Length > 0)
        {
            checks.Add(DoctorHostChecks.EncryptionKeyFile(raw));
        }

        checks.Add(DoctorHostChecks.CephConf(raw));
        checks.AddRange(options is null
            ? [DoctorCheck.Fail("ceph", "not checked: the configuration is invalid", "fix the configuration first")]
            : await DoctorCephChecks.RunAsync(options, ct));
        checks.Add(DoctorHostChecks.Mapper(raw, new HostProbe()));
        checks.AddRange(await DoctorDockerChecks.RunAsync(raw, pluginDirs, ct));
        return checks;
    }

    public static string Format(IReadOnlyList<DoctorCheck> checks)
    {
        var width = checks.Max(c => c.Name.Length);
        var sb = new StringBuilder();
        foreach (var check in checks)
        {
            sb.Append(!check.Ok ? "FAIL  " : check.Fix is null ? "OK    " : "WARN  ").Append(check.Name.PadRight(width)).Append("   ").Append(check.Detail).Append('\n');
            if (check.Fix is { } fix)
            {
                sb.Append(' ', 6 + width + 3).Append("fix: ").Append(fix).Append('\n');
            }
        }

        var failed = checks.Count(c => !c.Ok);
        sb.Append(failed == 0 ? $"all {checks.Count} checks passed\n" : $"{failed} of {checks.Count} checks failed\n");
        return sb.ToString();
    }
}
