using System.CommandLine;
using RbdPlugin.Ceph;
using RbdPlugin.Hosting;

namespace RbdPlugin.Cli;

/// <summary><c>rbd-plugin serve</c>: the daemon Docker talks to. Every setting is also a flag (see SettingName).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = $"Config file (default {OptionsLoader.DefaultConfigPath} if present)" };
        var command = new Command("serve", "Run the volume plugin daemon") { config };
        var flags = new List<(SettingName Setting, Option Option)>();
        foreach (var setting in SettingName.All)
        {
            Option option = setting.IsBool
                ? new Option<bool?>(setting.Flag) { Description = setting.Description }
                : new Option<string?>(setting.Flag) { Description = $"{setting.Description} (env {setting.EnvVar})" };
            command.Options.Add(option);
            flags.Add((setting, option));
        }

        command.SetAction(async (parse, ct) =>
        {
            var given = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (setting, option) in flags)
            {
                if (parse.GetResult(option) is { Implicit: false } result && result.GetValueOrDefault<object?>() is { } value)
                {
                    given[setting.Key] = value is bool b ? (b ? "true" : "false") : value.ToString()!;
                }
            }

            return await RunAsync(parse.GetValue(config), given, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, Dictionary<string, string> flags, CancellationToken ct)
    {
        ValidatedOptions options;
        try
        {
            options = OptionsValidator.Validate(OptionsLoader.Load(configPath, flags, Environment.GetEnvironmentVariables()));
        }
        catch (OptionsException e)
        {
            await Console.Error.WriteLineAsync($"rbd-plugin: {e.Message}");
            return ExitCodes.InvalidConfiguration;
        }

        var log = Logging.Create(options.Raw.LogLevel, options.Raw.LogFormat);
        Serilog.Log.Logger = log;
        try
        {
            await using var app = await PluginHost.BuildAsync(options, log, ct);
            await app.RunAsync();
            return ExitCodes.Ok;
        }
        catch (CephException e)
        {
            log.Fatal("Cannot use the Ceph cluster as client.{CephId} with {CephConf}: {Error}", options.Raw.CephId, options.Raw.CephConf, e.Message);
            return ExitCodes.CephUnavailable;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.Fatal(e, "rbd-plugin serve failed to start");
            return ExitCodes.Failure;
        }
        finally
        {
            await Serilog.Log.CloseAndFlushAsync();
        }
    }
}
