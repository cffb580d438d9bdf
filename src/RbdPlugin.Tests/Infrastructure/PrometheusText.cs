using System.Globalization;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>
/// Reads Prometheus's text exposition format with the Prometheus project's own parser (Debian's
/// python3-prometheus-client, <c>prometheus_client.parser</c>; deploy/install-packages.sh installs it), so a test
/// sees /metrics as a scraper does and a malformed exposition fails the test. Nothing is parsed by hand here: the
/// script only hands the parser's samples over as JSON.
/// </summary>
internal static class PrometheusText
{
    internal sealed record Sample(string Family, string Type, string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        json.dump([{"family": f.name, "type": f.type, "name": s.name, "labels": s.labels, "value": repr(float(s.value))}
                   for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples], sys.stdout)
        """;

    public static async Task<IReadOnlyList<Sample>> ParseAsync(string exposition)
    {
        var parsed = await ToolProcess.RunAsync(Python, ["-c", Script], TimeSpan.FromSeconds(60), stdin: exposition);
        if (parsed.ExitCode != 0)
        {
            throw new InvalidOperationException($"the Prometheus parser refused the exposition: {parsed.Stderr}\n{exposition}");
        }

        using var json = JsonDocument.Parse(parsed.Stdout);
        return json.RootElement.EnumerateArray().Select(s => new Sample(
            s.GetProperty("family").GetString()!,
            s.GetProperty("type").GetString()!,
            s.GetProperty("name").GetString()!,
            s.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            ParseFloat(s.GetProperty("value").GetString()!))).ToList();
    }

    /// <summary>The one sample named <paramref name="name"/> whose labels include <paramref name="labels"/> ("k=v" each).</summary>
    public static double Value(this IReadOnlyList<Sample> samples, string name, params string[] labels)
    {
        var found = samples.Where(s => s.Name == name
            && labels.All(l => s.Labels.TryGetValue(l[..l.IndexOf('=')], out var v) && v == l[(l.IndexOf('=') + 1)..])).ToList();
        Assert.True(found.Count == 1, $"{found.Count} samples {name}{{{string.Join(',', labels)}}} in: {string.Join(", ", samples.Select(s => s.Name).Distinct())}");
        return found[0].Value;
    }

    private static double ParseFloat(string text) => text switch
    {
        "nan" => double.NaN,
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.Parse(text, CultureInfo.InvariantCulture),
    };
}
