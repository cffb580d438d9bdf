using System.Diagnostics;

namespace RbdPlugin.Bench;

/// <summary>
/// Before/after in one run (BENCH_BASELINE_DAEMON): the build under test (A, "rbd-plugin" column) and a baseline
/// build (B, "baseline" column, e.g. main's), both serving at once with their own socket, state dir and mount root,
/// driven alternately A, B, A, B so the load of this shared machine falls on both alike. The rows are the ones a
/// daemon change moves: start, idle RSS, Get, List of the most volumes the plan lists, one container cycle alone (and Remove refused right after Unmount),
/// and the concurrent storm (B's storm first, then A's, so A never gains from a quieter machine at the start).
/// </summary>
internal sealed class Compare(Daemon a, Bench benchA, TimedPlugin clientA, Daemon b, Bench benchB, TimedPlugin clientB,
    Plan plan, string prefix)
{
    public List<Row> Rows { get; } = [];

    public async Task RunAsync()
    {
        const string Side = "build under test vs baseline build";
        var start = Add(new Row("Daemon start → serving") { Baseline = Side, Target = "< 1 s", Check = Row.MedianBelow(1000) });
        var rss = Add(new Row("Daemon idle RSS (3 s after start)", "MiB") { Baseline = Side, Target = "< 80 MiB", Check = Row.MedianBelow(80) });
        var get = Add(new Row("Get") { Baseline = Side });
        var listed = plan.ListSizes.Max();
        var list = Add(new Row($"List, {listed:N0} volumes") { Baseline = Side, Target = "< 50 ms", Check = Row.MedianBelow(50) });
        var cycle = Add(new Row("One create→mount→write→unmount→remove cycle alone", "s") { Baseline = Side });
        var storm = Add(new Row($"{plan.Cycles} concurrent cycles (total)", "s") { Baseline = Side });

        Console.Error.WriteLine("bench: compare: start, idle RSS ...");
        for (var i = 0; i < plan.Starts; i++)
        {
            await a.StopAsync();
            start.Plugin.Add(await a.StartAsync());
            await b.StopAsync();
            start.Base.Add(await b.StartAsync());
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        rss.Plugin.Add(a.Memory().Rss);
        rss.Base.Add(b.Memory().Rss);

        Console.Error.WriteLine("bench: compare: Get ...");
        var (va, vb) = (prefix + "ga", prefix + "gb");
        await clientA.CreateAsync(va, "1G");
        await clientB.CreateAsync(vb, "1G");
        for (var i = -1; i < plan.ControlReps; i++)
        {
            Bench.Keep(get.Plugin, i, (await clientA.GetAsync(va)).Ms);
            Bench.Keep(get.Base, i, (await clientB.GetAsync(vb)).Ms);
        }

        await clientA.RemoveAsync(va);
        await clientB.RemoveAsync(vb);

        // Both daemons read the same index (one pool), so both list the same volumes.
        Console.Error.WriteLine($"bench: compare: List of {listed:N0} ...");
        var names = Enumerable.Range(0, listed).Select(i => $"{prefix}l{i:D4}").ToList();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 4 };
        await Parallel.ForEachAsync(names, parallel, async (name, ct) => await clientA.CreateAsync(name, "1G", ct));
        for (var i = -1; i < plan.ListReps; i++)
        {
            Bench.Keep(list.Plugin, i, (await clientA.ListAsync()).Ms);
            Bench.Keep(list.Base, i, (await clientB.ListAsync()).Ms);
        }

        await Parallel.ForEachAsync(names, parallel, async (name, ct) => await clientA.RemoveAsync(name, ct));

        // Each cycle ends with Remove sent right after Unmount: the row counts the refusals ("in use elsewhere"
        // while rbd-fuse still held the image's watch).
        Console.Error.WriteLine("bench: compare: cycles alone ...");
        var failedA = new List<string>();
        var failedB = new List<string>();
        for (var i = -1; i < plan.Mount10Reps * 2; i++)
        {
            Bench.Keep(cycle.Plugin, i, await TimedCycleAsync(benchA, $"{prefix}sa{i + 1:D2}", failedA));
            Bench.Keep(cycle.Base, i, await TimedCycleAsync(benchB, $"{prefix}sb{i + 1:D2}", failedB));
        }

        cycle.Note = $"failed cycles: {failedA.Count} of {plan.Mount10Reps * 2 + 1} under test, {failedB.Count} baseline"
            + (failedB.Count > 0 ? $" (baseline's first: {failedB[0]})" : "")
            + (failedA.Count > 0 ? $" (under test's first: {failedA[0]})" : "");

        if (plan.Cycles > 0)
        {
            Console.Error.WriteLine($"bench: compare: {plan.Cycles} concurrent cycles, baseline then under test ...");
            var sb = await benchB.StormAsync(prefix + "wb", plan.Cycles);
            var sa = await benchA.StormAsync(prefix + "wa", plan.Cycles);
            storm.Base.Add(sb.Seconds);
            storm.Plugin.Add(sa.Seconds);
            storm.Note = $"machine CPU-s per cycle (all processes): {Report.Fmt(sa.CpuPerCycle)} under test, {Report.Fmt(sb.CpuPerCycle)} baseline; "
                + $"errors: {sa.Errors.Count} under test, {sb.Errors.Count} baseline"
                + (sa.Errors.Count + sb.Errors.Count > 0 ? $", first: {sa.Errors.Concat(sb.Errors).First()}" : "");
        }
    }

    private static async Task<double> TimedCycleAsync(Bench bench, string name, List<string> failed)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            await bench.CycleAsync(name);
        }
        catch (Exception e)
        {
            failed.Add($"{name}: {e.Message}");
        }

        return sw.Elapsed.TotalSeconds;
    }

    private Row Add(Row row)
    {
        Rows.Add(row);
        return row;
    }
}
