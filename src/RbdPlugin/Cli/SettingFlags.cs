using System.CommandLine;
using RbdPlugin.Hosting;

namespace RbdPlugin.Cli;

/// <summary>
/// The <c>--config</c> flag plus one flag per setting (spelled by <see cref="SettingName"/>), added to a command,
/// and the values the user actually gave, keyed by setting, for <see cref="OptionsLoader"/>.
/// </summary>
internal sealed class SettingFlags
{
    /// <summary>The settings a command that only talks to Ceph needs as flags; the rest come from the file or env.</summary>
    public static readonly IReadOnlyList<string> CephKeys =
        ["CephConf", "CephId", "Keyring", "Pool", "AllowedPools", "Namespace", "CephTimeout", "RemoveAction", "HostId", "EncryptionKeyFile"];

    private readonly List<(SettingName Setting, Option Option)> _flags = [];

    private SettingFlags(Option<string?> config) => Config = config;

    public Option<string?> Config { get; }

    /// <summary>Adds the flags of <paramref name="settings"/> (all when null) to <paramref name="command"/>.</summary>
    public static SettingFlags AddTo(Command command, IEnumerable<string>? settings = null)
    {
        var flags = new SettingFlags(new Option<string?>("--config") { Description = $"Config file (default {OptionsLoader.DefaultConfigPath} if present)" });
        command.Options.Add(flags.Config);
        foreach (var setting in SettingName.All.Where(s => settings is null || settings.Contains(s.Key)))
        {
            Option option = setting.IsBool
                ? new Option<bool?>(setting.Flag) { Description = setting.Description }
                : new Option<string?>(setting.Flag) { Description = $"{setting.Description} (env {setting.EnvVar})" };
            command.Options.Add(option);
            flags._flags.Add((setting, option));
        }

        return flags;
    }

    /// <summary>Flag values the user gave on this command line, by setting key.</summary>
    public Dictionary<string, string> Given(ParseResult parse)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (setting, option) in _flags)
        {
            if (parse.GetResult(option) is { Implicit: false } result && result.GetValueOrDefault<object?>() is { } value)
            {
                given[setting.Key] = value is bool b ? (b ? "true" : "false") : value.ToString()!;
            }
        }

        return given;
    }

    /// <summary>Loads and validates the configuration as <c>serve</c> does. Throws <see cref="OptionsException"/>.</summary>
    public ValidatedOptions Load(ParseResult parse) =>
        OptionsValidator.Validate(OptionsLoader.Load(parse.GetValue(Config), Given(parse), Environment.GetEnvironmentVariables()));
}
