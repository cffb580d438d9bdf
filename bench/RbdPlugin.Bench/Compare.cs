using System.Diagnostics;

namespace RbdPlugin.Bench;

/// <summary>
/// Before/after in one run (BENCH_BASELINE_DAEMON): the build under test (A, "rbd-plugin" column) and a baseline
/// build (B, "baseline" column, e.g. main's), both serving at once with their own socket, state dir and mount root,
/// driven alternately A, B, A, B so the load of this shared machine falls on both alike. The rows are the ones a
/// daemon change moves, by group (--only): daemon (start, idle RSS), control (Get), list (List of the most volumes
/// the plan lists), mount (one container cycle alone, and Remove refused right after Unmount), data (fio through a
/// volume each daemon mounted), concurrency (the storm: B's first, then A's, so A never gains from a quieter
/// machine at the start).
/// </summary>
internal sealed class Compare(Daemon a, Bench benchA, TimedPlugin clientA, Daemon b, Bench benchB, TimedPlugin clientB,
    Plan plan, string prefix, IReadOnlySet<string>? only = null)
{
    private const string Side = "build under test vs baseline build";

    public List<Row> Rows { get; } = [];

    public async Task RunAsync()
    {
        if (Runs("daemon"))
        {
            await StartAndRssAsync();
        }

        if (Runs("control"))
        {
            await GetAsync();
        }

        if (Runs("list"))
        {
            await ListAsync();
        }

        if (Runs("mount"))
        {
            await CyclesAloneAsync();
        }

        if (Runs("data"))
        {
            await DataAsync();
        }

        if (Runs("concurrency") && plan.Cycles > 0)
        {
            await StormAsync();
        }
    }

    private bool Runs(string group) => only is null || only.Contains(group);

    private async Task StartAndRssAsync()
    {
        var start = Add(new Row("Daemon start → serving") { Baseline = Side, Target = "< 1 s", Check = Row.MedianBelow(1000) });
        var rss = Add(new Row("Daemon idle RSS (3 s after start)", "MiB") { Baseline = Side, Target = "< 80 MiB", Check = Row.MedianBelow(80) });
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
    }

    private async Task GetAsync()
    {
        var get = Add(new Row("Get") { Baseline = Side });
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
    }

    private async Task ListAsync()
    {
        var listed = plan.ListSizes.Max();
        var list = Add(new Row($"List, {listed:N0} volumes") { Baseline = Side, Target = "< 50 ms", Check = Row.MedianBelow(50) });

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
    }

    private async Task CyclesAloneAsync()
    {
        var cycle = Add(new Row("One create→mount→write→unmount→remove cycle alone", "s") { Baseline = Side });

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
    }

    /// <summary>
    /// The data rows' fio jobs (<see cref="Bench.DataJobs"/>) and a 4 KiB random write fsynced after every write,
    /// on a volume each daemon created and mounted; twice the repetitions of the full table, and the order of the
    /// two sides swapped every repetition (A, B, then B, A), so neither always runs on the other's heels.
    /// </summary>
    private async Task DataAsync()
    {
        List<DataJob> jobs = [.. Bench.DataJobs(plan), Bench.FsyncJob(plan)];
        var rows = jobs.Select(j => Add(j.NewRow(Side))).ToList();
        Console.Error.WriteLine("bench: compare: data path ...");
        var (va, vb) = (prefix + "ioa", prefix + "iob");
        var (fileA, idA) = await benchA.MountForIoAsync(va);
        try
        {
            var (fileB, idB) = await benchB.MountForIoAsync(vb);
            try
            {
                rows[0].Note += $"; rbd-fuse's CEPH_ARGS: under test `{RbdFuseCephArgs(va)}`, baseline `{RbdFuseCephArgs(vb)}`";
                for (var i = -1; i < plan.DataReps * 2; i++)
                {
                    foreach (var (job, row) in jobs.Zip(rows))
                    {
                        if (i % 2 == 0)
                        {
                            Bench.Keep(row.Plugin, i, await job.RunAsync(fileA));
                            Bench.Keep(row.Base, i, await job.RunAsync(fileB));
                        }
                        else
                        {
                            Bench.Keep(row.Base, i, await job.RunAsync(fileB));
                            Bench.Keep(row.Plugin, i, await job.RunAsync(fileA));
                        }
                    }
                }
            }
            finally
            {
                await benchB.ReleaseIoAsync(vb, idB);
            }
        }
        finally
        {
            await benchA.ReleaseIoAsync(va, idA);
        }
    }

    /// <summary>The CEPH_ARGS of the rbd-fuse process serving IMAGE (its command line names it after -r), from /proc.</summary>
    private static string RbdFuseCephArgs(string image)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                var argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (Path.GetFileName(argv[0]) != "rbd-fuse" || !argv.Zip(argv.Skip(1)).Contains(("-r", image)))
                {
                    continue;
                }

                return File.ReadAllText(Path.Combine(dir, "environ")).Split('\0')
                    .FirstOrDefault(v => v.StartsWith("CEPH_ARGS=", StringComparison.Ordinal))?["CEPH_ARGS=".Length..] ?? "(none)";
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }

        return "(no rbd-fuse found)";
    }

    private async Task StormAsync()
    {
        var storm = Add(new Row($"{plan.Cycles} concurrent cycles (total)", "s") { Baseline = Side });
        Console.Error.WriteLine($"bench: compare: {plan.Cycles} concurrent cycles, baseline then under test ...");
        var sb = await benchB.StormAsync(prefix + "wb", plan.Cycles);
        var sa = await benchA.StormAsync(prefix + "wa", plan.Cycles);
        storm.Base.Add(sb.Seconds);
        storm.Plugin.Add(sa.Seconds);
        storm.Note = $"machine CPU-s per cycle (all processes): {Report.Fmt(sa.CpuPerCycle)} under test, {Report.Fmt(sb.CpuPerCycle)} baseline; "
            + $"errors: {sa.Errors.Count} under test, {sb.Errors.Count} baseline"
            + (sa.Errors.Count + sb.Errors.Count > 0 ? $", first: {sa.Errors.Concat(sb.Errors).First()}" : "");
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
