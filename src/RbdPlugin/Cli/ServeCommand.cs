using System.CommandLine;
using RbdPlugin.Ceph;
using RbdPlugin.Hosting;

namespace RbdPlugin.Cli;

/// <summary><c>rbd-plugin serve</c>: the daemon Docker talks to. Every setting is also a flag (see SettingName).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the volume plugin daemon");
        var flags = SettingFlags.AddTo(command);
        command.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(flags.Config), flags.Given(parse), ct));
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, Dictionary<string, string> flags, CancellationToken ct)
    {
        Node.SearchPath.EnsureSet();
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
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            // A listener setting (checked as the listeners are configured): the same answer as any other bad setting.
            await Console.Error.WriteLineAsync($"rbd-plugin: {new OptionsException([.. e.Failures]).Message}");
            return ExitCodes.InvalidConfiguration;
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
