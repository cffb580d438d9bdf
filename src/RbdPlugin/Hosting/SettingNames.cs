using System.ComponentModel;
using System.Reflection;
using System.Text;

namespace RbdPlugin.Hosting;

/// <summary>
/// One setting, three spellings, derived from the <see cref="PluginOptions"/> property so they can never drift:
/// config key <c>MountRoot</c>, environment variable <c>RBD_PLUGIN_MOUNT_ROOT</c>, flag <c>--mount-root</c>.
/// </summary>
internal sealed record SettingName(string Key, string EnvVar, string Flag, string Description, bool IsList, bool IsBool)
{
    public const string EnvPrefix = "RBD_PLUGIN_";

    public static IReadOnlyList<SettingName> All { get; } = typeof(PluginOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => new SettingName(
            p.Name,
            EnvPrefix + Words(p.Name, '_').ToUpperInvariant(),
            "--" + Words(p.Name, '-').ToLowerInvariant(),
            p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "",
            p.PropertyType != typeof(string) && p.PropertyType != typeof(bool),
            p.PropertyType == typeof(bool)))
        .ToList();

    /// <summary>"TlsClientCa" → "Tls_Client_Ca" with the given separator.</summary>
    private static string Words(string pascal, char separator)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]) && !char.IsUpper(pascal[i - 1]))
            {
                sb.Append(separator);
            }

            sb.Append(pascal[i]);
        }

        return sb.ToString();
    }
}
