using System.Collections;

namespace RbdPlugin.Hosting;

/// <summary>
/// Builds <see cref="PluginOptions"/> from, lowest precedence first: the config file, RBD_PLUGIN_* environment
/// variables, command-line flags. Unknown keys in the file are errors (a typo must not silently fall back to a default).
/// </summary>
internal static class OptionsLoader
{
    public const string DefaultConfigPath = "/etc/rbd-plugin/rbd-plugin.json";

    /// <param name="configPath">The file; null = the default path, which may be absent.</param>
    /// <param name="flags">Flag values by setting key (only flags the user gave).</param>
    public static PluginOptions Load(string? configPath, IReadOnlyDictionary<string, string> flags, IDictionary environment)
    {
        var builder = new ConfigurationBuilder();
        var path = configPath ?? DefaultConfigPath;
        if (configPath is not null || File.Exists(path))
        {
            if (!File.Exists(path))
            {
                throw new OptionsException([$"config file {path} does not exist; create it or drop --config"]);
            }

            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        builder.AddInMemoryCollection(Expand(FromEnvironment(environment)));
        builder.AddInMemoryCollection(Expand(flags));
        var options = new PluginOptions();
        try
        {
            builder.Build().Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new OptionsException([$"config: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}"]);
        }

        return options;
    }

    private static Dictionary<string, string> FromEnvironment(IDictionary environment)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var setting in SettingName.All)
        {
            if (environment[setting.EnvVar] is string value)
            {
                values[setting.Key] = value;
            }
        }

        return values;
    }

    /// <summary>Lists arrive as "a,b"; the binder wants Key:0, Key:1.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> Expand(IReadOnlyDictionary<string, string> values)
    {
        foreach (var (key, value) in values)
        {
            if (SettingName.All.First(s => s.Key == key).IsList)
            {
                var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                for (var i = 0; i < items.Length; i++)
                {
                    yield return new($"{key}:{i}", items[i]);
                }
            }
            else
            {
                yield return new(key, value);
            }
        }
    }
}

/// <summary>Settings that cannot work; each message names the setting and the fix.</summary>
internal sealed class OptionsException(IReadOnlyList<string> problems)
    : Exception("invalid configuration:\n  " + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;

    public OptionsException() : this([]) { }

    public OptionsException(string message) : this([message]) { }

    public OptionsException(string message, Exception inner) : this([message + ": " + inner.Message]) { }
}
