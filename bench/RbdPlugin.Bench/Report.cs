using System.Globalization;
using System.Text;

namespace RbdPlugin.Bench;

internal static class Stats
{
    /// <summary>Linear-interpolated percentile (0-100) of the samples.</summary>
    public static double Percentile(IReadOnlyList<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToArray();
        var rank = p / 100.0 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 50);
}

/// <summary>One line of the table: the plugin's samples and its baseline's, in the row's unit.</summary>
internal sealed class Row(string measure, string unit = "ms")
{
    public string Measure { get; } = measure;
    public string Unit { get; } = unit;
    public List<double> Plugin { get; } = [];
    public string Baseline { get; init; } = "—";
    public List<double> Base { get; } = [];

    /// <summary>Throughput rows: the ratio is still plugin ÷ baseline, but higher is better.</summary>
    public bool HigherIsBetter { get; init; }

    /// <summary>The target from issue 5, as text, and how to check it (null: no target).</summary>
    public string Target { get; init; } = "";
    public Func<Row, bool>? Check { get; set; }
    public string Note { get; set; } = "";
    public string? Failure { get; set; }

    public double PluginMedian => Stats.Median(Plugin);
    public double BaseMedian => Stats.Median(Base);
    public double Ratio => Base.Count == 0 ? double.NaN : PluginMedian / BaseMedian;

    /// <summary>Ratio-target helper: plugin median ≤ factor × baseline median (or ≥ for throughput).</summary>
    public static Func<Row, bool> RatioAtMost(double factor) => r => r.Ratio <= factor;
    public static Func<Row, bool> RatioAtLeast(double factor) => r => r.Ratio >= factor;
    public static Func<Row, bool> MedianBelow(double value) => r => r.PluginMedian < value;
}

internal static class Report
{
    /// <summary>The table, then the rows' notes as numbered footnotes (they are too long for a cell).</summary>
    public static string Markdown(IEnumerable<Row> rows)
    {
        var sb = new StringBuilder();
        var notes = new List<string>();
        sb.AppendLine("| measure | rbd-plugin: median (p10–p90) | baseline | baseline: median (p10–p90) | ratio | target | n |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var measure = r.Measure;
            if (r.Note.Length > 0)
            {
                notes.Add(r.Note.TrimStart(';', ' '));
                measure += $" [{notes.Count}]";
            }

            if (r.Failure is not null)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {measure} | **failed**: {Escape(r.Failure)} | {r.Baseline} | | | {r.Target} | |");
                continue;
            }

            var plugin = Cell(r.Plugin, r.Unit);
            var baseline = r.Base.Count == 0 ? "—" : Cell(r.Base, r.Unit);
            var ratio = r.Base.Count == 0 ? "—" : Fmt(r.Ratio, ratioStyle: true) + "×";
            var target = r.Target.Length == 0 ? "—" : $"{r.Target} {(r.Check is null || r.Plugin.Count == 0 ? "" : r.Check(r) ? "✓" : "✗")}".Trim();
            var n = r.Base.Count == 0 || r.Base.Count == r.Plugin.Count
                ? r.Plugin.Count.ToString(CultureInfo.InvariantCulture)
                : $"{r.Plugin.Count}/{r.Base.Count}";
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {measure} | {plugin} | {r.Baseline} | {baseline} | {ratio} | {target} | {n} |");
        }

        if (notes.Count > 0)
        {
            sb.AppendLine();
            for (var i = 0; i < notes.Count; i++)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"[{i + 1}] {Escape(notes[i])}  ");
            }
        }

        return sb.ToString();
    }

    /// <summary>Every sample of every row, for a later look (written next to the table as FILE.json).</summary>
    public static string Json(IEnumerable<Row> rows) =>
        System.Text.Json.JsonSerializer.Serialize(
            rows.Select(r => new RawRow(r.Measure, r.Unit, r.Baseline, r.Plugin, r.Base, r.Note, r.Failure)).ToList(),
            RawJson.Default.ListRawRow);

    public static string Cell(IReadOnlyList<double> samples, string unit) =>
        samples.Count == 1
            ? $"{Fmt(samples[0])} {unit}"
            : $"{Fmt(Stats.Median(samples))} {unit} ({Fmt(Stats.Percentile(samples, 10))}–{Fmt(Stats.Percentile(samples, 90))})";

    public static string Fmt(double v, bool ratioStyle = false)
    {
        var a = Math.Abs(v);
        var format = ratioStyle
            ? a < 0.1 ? "0.000" : a < 10 ? "0.00" : "0.0"
            : a < 1 ? "0.000" : a < 10 ? "0.00" : a < 100 ? "0.0" : "0";
        return v.ToString(format, CultureInfo.InvariantCulture);
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}

internal sealed record RawRow(string Measure, string Unit, string Baseline, List<double> Plugin, List<double> Base, string Note, string? Failure);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<RawRow>))]
internal sealed partial class RawJson : System.Text.Json.Serialization.JsonSerializerContext;
