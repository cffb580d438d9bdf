using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Reply = RbdPlugin.Tests.Infrastructure.PluginReply;

namespace RbdPlugin.Bench;

/// <summary>How many repetitions each group gets; --quick lowers them and skips the two slowest rows.</summary>
internal sealed record Plan(
    bool Quick, int Starts, int ControlReps, int ListReps, int[] ListSizes, int Mount10Reps, int Mount1TReps,
    int DataReps, long DataRegion, long RandIo, int Cycles, int AloneCycles)
{
    public static Plan For(bool quick) => quick
        ? new Plan(true, Starts: 3, ControlReps: 10, ListReps: 10, ListSizes: [10, 100], Mount10Reps: 3, Mount1TReps: 3,
            DataReps: 2, DataRegion: 64L << 20, RandIo: 8L << 20, Cycles: 0, AloneCycles: 0)
        : new Plan(false, Starts: 5, ControlReps: 30, ListReps: 20, ListSizes: [10, 100, 1000], Mount10Reps: 7, Mount1TReps: 5,
            DataReps: 4, DataRegion: 256L << 20, RandIo: 32L << 20, Cycles: 50, AloneCycles: 3);
}

/// <summary>
/// The rows. Each compares the plugin at its socket (A) with its baseline (B), interleaved A, B, A, B after one
/// untimed warm-up pair, so that the noise of this shared machine falls on both sides alike.
/// </summary>
internal sealed class Bench(Daemon daemon, TimedPlugin plugin, CephTarget ceph, ByHand hand, Plan plan, string prefix,
    IReadOnlySet<string>? only = null)
{
    private const long GiB = 1L << 30;

    public List<Row> Rows { get; } = [];

    public async Task RunAsync()
    {
        await Section("daemon", "daemon", DaemonRowsAsync);
        await Section("control", "create/get/path/remove", ControlRowsAsync);
        await Section("list", "list", ListRowsAsync);
        await Section("mount", "mount 10 GiB", () => MountRowsAsync(10 * GiB, "10 GiB", plan.Mount10Reps, full: true));
        await Section("mount", "mount 1 TiB", () => MountRowsAsync(1024 * GiB, "1 TiB", plan.Mount1TReps, full: false));
        await Section("data", "data path", DataRowsAsync);
        if (plan.Cycles > 0)
        {
            await Section("concurrency", "concurrency", ConcurrencyRowsAsync);
        }

        var (rss, hwm) = daemon.Memory();
        Rows.Add(new Row("Daemon RSS at the end of the run", "MiB") { Note = $"peak VmHWM {Report.Fmt(hwm)} MiB" }.With(rss));
    }

    /// <summary>Runs a group (unless --only names others); if it throws, the rows it had not finished say so and the run goes on.</summary>
    private async Task Section(string key, string name, Func<Task> body)
    {
        if (only is not null && !only.Contains(key))
        {
            return;
        }

        var before = Rows.Count;
        var sw = Stopwatch.StartNew();
        Console.Error.WriteLine($"bench: {name} ...");
        try
        {
            await body();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"bench: {name} failed: {e}");
            var message = e.Message.Length > 300 ? e.Message[..300] + "..." : e.Message;
            var unfinished = Rows.Skip(before).Where(r => r.Plugin.Count == 0).ToList();
            if (unfinished.Count == 0)
            {
                Rows.Add(new Row($"({name})") { Failure = message });
            }

            foreach (var r in unfinished)
            {
                r.Failure = message;
            }
        }

        Console.Error.WriteLine($"bench: {name} done in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task Interleave(int reps, Func<int, Task> a, Func<int, Task> b)
    {
        // Warm-up pair (index -1): JIT, connection pool, ioctx, page cache of the tools. Not recorded by callers.
        for (var i = -1; i < reps; i++)
        {
            await a(i);
            await b(i);
        }
    }

    // ---- daemon start, memory -------------------------------------------------------------------------------

    private async Task DaemonRowsAsync()
    {
        var start = Add(new Row("Daemon start → serving (spawn until /Plugin.Activate answers)")
        {
            Target = "< 1 s",
            Check = Row.MedianBelow(1000),
        });
        var idle = Add(new Row("Daemon idle RSS (3 s after start)", "MiB") { Target = "< 80 MiB", Check = Row.MedianBelow(80) });
        var after = Add(new Row("Daemon RSS after 1,000 requests", "MiB"));

        // The harness started the daemon once already (untimed: cold caches). Restart it plan.Starts times.
        for (var i = 0; i < plan.Starts; i++)
        {
            await daemon.StopAsync();
            start.Plugin.Add(await daemon.StartAsync());
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        idle.Plugin.Add(daemon.Memory().Rss);

        var name = prefix + "rss";
        await plugin.CreateAsync(name, "1G");
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 250; i++)
        {
            await plugin.GetAsync(name);
            await plugin.PathAsync(name);
            await plugin.ListAsync();
            await plugin.CapabilitiesAsync();
        }

        var seconds = sw.Elapsed.TotalSeconds;
        var (rss, hwm) = daemon.Memory();
        after.Plugin.Add(rss);
        after.Note = $"Get/Path/List/Capabilities ×250 each, sequential, {1000 / seconds:0} req/s; VmHWM {Report.Fmt(hwm)} MiB";
        await plugin.RemoveAsync(name);
    }

    // ---- create, get, path, remove ------------------------------------------------------------------------

    private async Task ControlRowsAsync()
    {
        var reps = plan.ControlReps;
        var create = Add(new Row("Create (10 GiB)") { Baseline = "`rbd create --size 10G`", Target = "≤ 1.2×", Check = Row.RatioAtMost(1.2) });
        var get = Add(new Row("Get") { Baseline = "`rbd info --format json`", Target = "≤ 0.1×", Check = Row.RatioAtMost(0.1) });
        var path = Add(new Row("Path") { Baseline = "`rbd info --format json`", Target = "≤ 0.1×", Check = Row.RatioAtMost(0.1) });
        var remove = Add(new Row("Remove (10 GiB, never mapped)") { Baseline = "`rbd rm`", Target = "≤ 1.2×", Check = Row.RatioAtMost(1.2) });

        string V(int i) => $"{prefix}c{i + 1:D3}";
        string R(int i) => $"{prefix}r{i + 1:D3}";

        await Interleave(reps,
            async i => Keep(create.Plugin, i, (await plugin.CreateAsync(V(i), "10G")).Ms),
            async i => Keep(create.Base, i, (await Rbd("create", "--size", "10G", Spec(R(i)))).Ms));

        var subject = V(0);
        await Interleave(reps,
            async i => Keep(get.Plugin, i, (await plugin.GetAsync(subject)).Ms),
            async i => Keep(get.Base, i, (await Rbd("info", "--format", "json", Spec(subject))).Ms));
        await Interleave(reps,
            async i => Keep(path.Plugin, i, (await plugin.PathAsync(subject)).Ms),
            async i => Keep(path.Base, i, (await Rbd("info", "--format", "json", Spec(subject))).Ms));

        await Interleave(reps,
            async i => Keep(remove.Plugin, i, (await plugin.RemoveAsync(V(i))).Ms),
            async i => Keep(remove.Base, i, (await Rbd("rm", "--no-progress", Spec(R(i)))).Ms));
    }

    // ---- list ---------------------------------------------------------------------------------------------

    private async Task ListRowsAsync()
    {
        var rows = plan.ListSizes.ToDictionary(n => n, n => Add(new Row($"List, {n:N0} volumes")
        {
            Baseline = "`rbd ls`",
            Target = n == 1000 ? "≤ 0.1× and < 50 ms" : "≤ 0.1×",
            Check = n == 1000 ? r => r.Ratio <= 0.1 && r.PluginMedian < 50 : Row.RatioAtMost(0.1),
        }));

        var made = 0;
        foreach (var n in plan.ListSizes)
        {
            // Four creates at a time: only the population, not measured.
            await Parallel.ForEachAsync(Enumerable.Range(made, n - made), new ParallelOptions { MaxDegreeOfParallelism = 4 },
                async (i, ct) => await plugin.CreateAsync($"{prefix}l{i:D4}", "1G", ct));
            made = n;

            var row = rows[n];
            var listed = 0;
            var raw = 0;
            await Interleave(plan.ListReps,
                async i =>
                {
                    var reply = await plugin.ListAsync();
                    listed = reply.Body.GetProperty("Volumes").GetArrayLength();
                    Keep(row.Plugin, i, reply.Ms);
                },
                async i =>
                {
                    var r = await Rbd("ls", ceph.Pool);
                    raw = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                    Keep(row.Base, i, r.Ms);
                });
            if (listed != n || raw != n)
            {
                row.Note = $"List returned {listed}, rbd ls {raw}";
            }
        }
    }

    // ---- mount, remount, unmount --------------------------------------------------------------------------

    private async Task MountRowsAsync(long size, string label, int reps, bool full)
    {
        var sizeArg = (size / GiB).ToString(CultureInfo.InvariantCulture) + "G";
        var first = Add(new Row($"First Mount, {label} (map + mkfs + mount)")
        {
            Baseline = "by hand: rbd-fuse + losetup + mkfs.ext4 + mount",
            Target = size >= 1024 * GiB ? "< 3 s" : "",
            Check = size >= 1024 * GiB ? Row.MedianBelow(3000) : null,
        });
        var createMount = size >= 1024 * GiB
            ? Add(new Row($"Create + first Mount, {label}")
            {
                Baseline = "`rbd create` + the same by hand",
                Target = "< 3 s",
                Check = Row.MedianBelow(3000),
            })
            : null;
        var remount = full ? Add(new Row($"Remount (no mkfs), {label}") { Baseline = "by hand: rbd-fuse + losetup + mount" }) : null;
        var unmountReply = full ? Add(new Row($"Unmount, {label}: reply to Docker") { Baseline = "by hand: umount + losetup -d + umount fuse" }) : null;
        var unmountDone = full ? Add(new Row($"Unmount, {label}: until unmapped") { Baseline = "by hand: umount + losetup -d + umount fuse" }) : null;

        await Interleave(reps,
            async i =>
            {
                var name = $"{prefix}m{sizeArg.ToLowerInvariant()}{i + 1:D2}";
                var created = await plugin.CreateAsync(name, sizeArg);
                var id = TimedPlugin.NewMountId();
                var mounted = await plugin.MountAsync(name, id);
                Keep(first.Plugin, i, mounted.Ms);
                if (createMount is not null)
                {
                    Keep(createMount.Plugin, i, created.Ms + mounted.Ms);
                }

                var (reply, done) = await UnmountUntilReleasedAsync(name, id);
                Keep(unmountReply?.Plugin, i, reply);
                Keep(unmountDone?.Plugin, i, done);

                id = TimedPlugin.NewMountId();
                Keep(remount?.Plugin, i, (await plugin.MountAsync(name, id)).Ms);
                (reply, done) = await UnmountUntilReleasedAsync(name, id);
                Keep(unmountReply?.Plugin, i, reply);
                Keep(unmountDone?.Plugin, i, done);
                await plugin.RemoveAsync(name);
            },
            async i =>
            {
                var image = $"{prefix}h{sizeArg.ToLowerInvariant()}{i + 1:D2}";
                var created = await Rbd("create", "--size", sizeArg, Spec(image));
                var sw = Stopwatch.StartNew();
                var m = await hand.MapAsync(image);
                await hand.MkfsAsync(m);
                await ByHand.MountAsync(m);
                var mountMs = sw.Elapsed.TotalMilliseconds;
                Keep(first.Base, i, mountMs);
                if (createMount is not null)
                {
                    Keep(createMount.Base, i, created.Ms + mountMs);
                }

                sw.Restart();
                await ByHand.UnmountAsync(m);
                Keep(unmountReply?.Base, i, sw.Elapsed.TotalMilliseconds);
                Keep(unmountDone?.Base, i, sw.Elapsed.TotalMilliseconds);

                sw.Restart();
                m = await hand.MapAsync(image);
                await ByHand.MountAsync(m);
                Keep(remount?.Base, i, sw.Elapsed.TotalMilliseconds);

                sw.Restart();
                await ByHand.UnmountAsync(m);
                Keep(unmountReply?.Base, i, sw.Elapsed.TotalMilliseconds);
                Keep(unmountDone?.Base, i, sw.Elapsed.TotalMilliseconds);
                await Rbd("rm", "--no-progress", Spec(image));
            });
    }

    /// <summary>
    /// Unmount's reply comes at once; the real unmount and unmap run after the grace period (0 s here). Done means
    /// the journal entry is gone, which the daemon deletes only after unmount, losetup -d and the fuse unmount.
    /// </summary>
    private async Task<(double Reply, double Done)> UnmountUntilReleasedAsync(string name, string id)
    {
        var journal = Path.Combine(daemon.StateDir, "volumes", name + ".json");
        var mountpoint = Path.Combine(daemon.MountRoot, name);
        var fuseDir = Path.Combine(daemon.StateDir, "fuse", $"{ceph.Pool}.{name}");
        var sw = Stopwatch.StartNew();
        var reply = await plugin.UnmountAsync(name, id);
        while (File.Exists(journal) || Cleanup.Mounts().Any(m => m.MountPoint == mountpoint || m.MountPoint == fuseDir))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"{name} was not released within 60 s of its Unmount");
            }

            await Task.Delay(1);
        }

        return (reply.Ms, sw.Elapsed.TotalMilliseconds);
    }

    // ---- data path ----------------------------------------------------------------------------------------

    /// <summary>
    /// The fio jobs of the data rows, in the order they run on one file: the sequential write lays the file out
    /// first, so every later job finds its blocks written.
    /// </summary>
    internal static IReadOnlyList<DataJob> DataJobs(Plan plan)
    {
        var region = $"{plan.DataRegion >> 20} MiB region, queue depth 16";
        var random = $"{plan.RandIo >> 20} MiB of I/O over the region";
        return
        [
            new("Sequential write 4 MiB, O_DIRECT through the mounted ext4", "write", "4M", plan.DataRegion, plan.DataRegion, region),
            new("Sequential read 4 MiB", "read", "4M", plan.DataRegion, plan.DataRegion, region),
            new("Random write 4 KiB", "randwrite", "4K", plan.DataRegion, plan.RandIo, random),
            new("Random read 4 KiB", "randread", "4K", plan.DataRegion, plan.RandIo, random),
        ];
    }

    /// <summary>
    /// What a database does: every 4 KiB write fsynced before the next (fio --fsync=1 drains the queue for each
    /// fsync, so queue depth 1). `rbd bench` has nothing like it, so only the before/after comparison runs it.
    /// </summary>
    internal static DataJob FsyncJob(Plan plan) =>
        new("Random write 4 KiB, fsync after every write", "randwrite", "4K", plan.DataRegion, plan.RandIo / 4,
            $"{plan.RandIo / 4 >> 20} MiB of I/O over the region, fio --fsync=1", FsyncEach: true);

    private async Task DataRowsAsync()
    {
        var fio = Tool.OnPath("fio");
        var jobs = DataJobs(plan);
        var rows = jobs.Select(j => Add(j.NewRow($"`rbd bench` {j.RbdPattern} {j.RbdIoType} {j.Bs}", "≥ 0.9×", Row.RatioAtLeast(0.9)))).ToList();

        // The twin: same pool, features and object size, as large as the file, so rbd bench's random offsets fall
        // on written objects just as fio's fall inside its file. rbd bench cannot run on the volume's own image:
        // it would write over the mounted filesystem. A third side, fio on an image mapped, formatted and mounted
        // by hand with the same mapper, tells the plugin's share of any gap from the mapper's.
        var volume = prefix + "io";
        var twin = prefix + "iotwin";
        var handImage = prefix + "iohand";
        var (file, id) = await MountForIoAsync(volume);
        await Rbd("create", "--size", $"{plan.DataRegion >> 20}M", Spec(twin));
        await Rbd("create", "--size", "10G", Spec(handImage));
        var handMap = await hand.MapAsync(handImage);
        await hand.MkfsAsync(handMap);
        await ByHand.MountAsync(handMap);
        var handFile = Path.Combine(handMap.Mountpoint, "bench.dat");
        var byHand = rows.ToDictionary(r => r, _ => new List<double>());
        try
        {
            if (!fio)
            {
                foreach (var (job, row) in jobs.Zip(rows))
                {
                    (row.Note, row.Failure) = job.Random
                        ? (row.Note, "needs fio (apt-get install fio)")
                        : ("dd, queue depth 1 (fio not installed); rbd bench with --io-threads 1", null);
                }
            }

            for (var i = -1; i < plan.DataReps; i++)
            {
                foreach (var (job, row) in jobs.Zip(rows).Where(p => fio || !p.First.Random))
                {
                    Keep(row.Plugin, i, fio ? await job.RunAsync(file) : await Dd(job, file));
                    Keep(row.Base, i, await RbdBench(twin, job, fio ? 16 : 1));
                    Keep(byHand[row], i, fio ? await job.RunAsync(handFile) : await Dd(job, handFile));
                }
            }
        }
        finally
        {
            foreach (var (row, samples) in byHand.Where(kv => kv.Value.Count > 0))
            {
                row.Note += $"; fio on the same mapper by hand: {Report.Cell(samples, row.Unit)}";
            }

            await ByHand.UnmountAsync(handMap);
            await ReleaseIoAsync(volume, id);
            await Rbd("rm", "--no-progress", Spec(twin));
            await Rbd("rm", "--no-progress", Spec(handImage));
        }
    }

    /// <summary>Creates a 10 GiB volume and mounts it through this daemon; the file the data rows' fio jobs use, and the mount ID.</summary>
    internal async Task<(string File, string Id)> MountForIoAsync(string volume)
    {
        await plugin.CreateAsync(volume, "10G");
        var id = TimedPlugin.NewMountId();
        var mountpoint = (await plugin.MountAsync(volume, id)).Body.GetProperty("Mountpoint").GetString()!;
        return (Path.Combine(mountpoint, "bench.dat"), id);
    }

    /// <summary>Unmounts (until released) and removes a volume <see cref="MountForIoAsync"/> made.</summary>
    internal async Task ReleaseIoAsync(string volume, string id)
    {
        await UnmountUntilReleasedAsync(volume, id);
        await plugin.RemoveAsync(volume);
    }

    internal static async Task<(double Mib, double Iops)> Fio(DataJob job, string file)
    {
        List<string> args =
        [
            "--name=bench", $"--filename={file}", $"--rw={job.Rw}", $"--bs={job.Bs}", $"--size={job.Region}", $"--io_size={job.IoSize}",
            "--ioengine=libaio", "--iodepth=16", "--direct=1", "--norandommap", "--output-format=json",
        ];
        if (job.Writes)
        {
            // Count the flush of what the layers below still hold (rbd-fuse's librbd cache) in the write's time.
            args.Add("--end_fsync=1");
        }

        if (job.FsyncEach)
        {
            args.Add("--fsync=1");
        }

        var r = await Tool.RunAsync("fio", args, TimeSpan.FromMinutes(5), cephEnv: false);
        var json = r.Stdout[r.Stdout.IndexOf('{', StringComparison.Ordinal)..];
        using var doc = JsonDocument.Parse(json);
        var result = doc.RootElement.GetProperty("jobs")[0].GetProperty(job.Writes ? "write" : "read");
        return (result.GetProperty("bw_bytes").GetDouble() / (1 << 20), result.GetProperty("iops").GetDouble());
    }

    private async Task<double> RbdBench(string image, DataJob job, int threads)
    {
        var r = await Rbd("bench", "--io-type", job.RbdIoType, "--io-pattern", job.RbdPattern, "--io-size", job.BlockBytes.ToString(CultureInfo.InvariantCulture),
            "--io-threads", threads.ToString(CultureInfo.InvariantCulture), "--io-total", job.IoSize.ToString(CultureInfo.InvariantCulture), Spec(image));
        // "elapsed: 3   ops: 8192   ops/sec: 2716.7   bytes/sec: 11 MiB/s"
        var last = r.Stdout.Split('\n').Last(l => l.StartsWith("elapsed:", StringComparison.Ordinal));
        var words = last.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ops = double.Parse(words[Array.IndexOf(words, "ops/sec:") + 1], CultureInfo.InvariantCulture);
        return job.Random ? ops : ops * job.BlockBytes / (1 << 20);
    }

    /// <summary>The sequential jobs without fio: dd with 4 MiB O_DIRECT blocks, queue depth 1; MiB/s.</summary>
    private static async Task<double> Dd(DataJob job, string file)
    {
        string[] args = job.Writes
            ? ["if=/dev/zero", $"of={file}", $"bs={job.Bs}", $"count={job.Region / job.BlockBytes}", "oflag=direct"]
            : [$"if={file}", "of=/dev/null", $"bs={job.Bs}", "iflag=direct"];
        var r = await Tool.RunAsync("dd", args, TimeSpan.FromMinutes(5), cephEnv: false);
        return job.Region / (1 << 20) / (r.Ms / 1000);
    }

    // ---- concurrency --------------------------------------------------------------------------------------

    private async Task ConcurrencyRowsAsync()
    {
        var row = Add(new Row($"{plan.Cycles} concurrent create→mount→write→unmount→remove cycles (total)", "s")
        {
            Baseline = "one cycle alone",
            Target = "≤ 3× and 0 errors",
        });

        var errors = new List<string>();

        async Task<double> Cycle(string name)
        {
            var sw = Stopwatch.StartNew();
            try
            {
                await CycleAsync(name);
            }
            catch (Exception e)
            {
                lock (errors)
                {
                    errors.Add($"{name}: {e.Message}");
                }
            }

            return sw.Elapsed.TotalSeconds;
        }

        // Alone before and after the storm, so a drift of the machine's load shows in the baseline's spread.
        await Cycle($"{prefix}solo0"); // warm-up
        var cpuBefore = MachineCpuSeconds();
        for (var i = 0; i < plan.AloneCycles; i++)
        {
            row.Base.Add(await Cycle($"{prefix}solo{i + 1}"));
        }

        var soloCpu = MachineCpuSeconds() - cpuBefore;
        var soloErrors = errors.Count;
        _verbTimes = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var cpuStorm = MachineCpuSeconds();
        var total = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, plan.Cycles).Select(i => Task.Run(() => Cycle($"{prefix}cc{i:D2}"))).ToList();
        var cycleTimes = await Task.WhenAll(tasks);
        row.Plugin.Add(total.Elapsed.TotalSeconds);
        var stormCpu = MachineCpuSeconds() - cpuStorm;
        var stormVerbs = _verbTimes;
        _verbTimes = null;
        var stormErrors = errors.Count - soloErrors;

        for (var i = 0; i < plan.AloneCycles; i++)
        {
            row.Base.Add(await Cycle($"{prefix}solo{plan.AloneCycles + i + 1}"));
        }

        var aloneErrors = errors.Count - stormErrors;
        row.Note = $"errors: {stormErrors} in the {plan.Cycles} concurrent cycles, {aloneErrors} in the {(2 * plan.AloneCycles) + 1} alone ones"
            + (errors.Count == 0 ? "" : $", first: {errors[0]}")
            + $"; one cycle inside the storm: median {Report.Fmt(Stats.Median(cycleTimes))} s, max {Report.Fmt(cycleTimes.Max())} s"
            + "; median per verb inside the storm: " + string.Join(", ", stormVerbs.Select(kv => $"{kv.Key} {Report.Fmt(Stats.Median(kv.Value) / 1000)} s"))
            + $"; machine CPU busy (all processes, {Environment.ProcessorCount} CPUs): {Report.Fmt(soloCpu / plan.AloneCycles)} CPU-s per alone cycle, "
            + $"{Report.Fmt(stormCpu / plan.Cycles)} CPU-s per cycle in the storm ({Report.Fmt(100 * stormCpu / (row.Plugin[0] * Environment.ProcessorCount))} % of the machine)";
        row.Check = r => r.Ratio <= 3 && errors.Count == 0;
    }

    /// <summary>
    /// One container's life as dockerd drives it: Get (not found) → Create → Get → Mount → the container writes
    /// 4 MiB and syncs → Get → Unmount → Get → Get → Remove.
    /// </summary>
    internal async Task CycleAsync(string name)
    {
        Verb("Get", await plugin.GetAsync(name));
        Verb("Create", await plugin.CreateAsync(name, "10G"));
        await plugin.GetAsync(name);
        var id = TimedPlugin.NewMountId();
        var mounted = Verb("Mount", await plugin.MountAsync(name, id));
        var mountpoint = mounted.Body.GetProperty("Mountpoint").GetString()!;
        var data = new byte[4 << 20];
        Random.Shared.NextBytes(data);
        await using (var f = new FileStream(Path.Combine(mountpoint, "data.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            await f.WriteAsync(data);
            f.Flush(flushToDisk: true);
        }

        await plugin.GetAsync(name);
        Verb("Unmount", await plugin.UnmountAsync(name, id));
        await plugin.GetAsync(name);
        await plugin.GetAsync(name);
        Verb("Remove", await plugin.RemoveAsync(name));
    }

    /// <summary>N cycles at once; total seconds, machine CPU-s per cycle and the errors (counted, not thrown).</summary>
    internal async Task<(double Seconds, double CpuPerCycle, List<string> Errors)> StormAsync(string names, int n)
    {
        var errors = new List<string>();
        var cpu = MachineCpuSeconds();
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(async () =>
        {
            try
            {
                await CycleAsync($"{names}{i:D2}");
            }
            catch (Exception e)
            {
                lock (errors)
                {
                    errors.Add($"{names}{i:D2}: {e.Message}");
                }
            }
        })));
        return (total.Elapsed.TotalSeconds, (MachineCpuSeconds() - cpu) / n, errors);
    }

    private Dictionary<string, List<double>>? _verbTimes;

    private Reply Verb(string verb, Reply reply)
    {
        if (_verbTimes is { } times)
        {
            lock (times)
            {
                (times.TryGetValue(verb, out var list) ? list : times[verb] = []).Add(reply.Ms);
            }
        }

        return reply;
    }

    /// <summary>user+nice+system+irq+softirq+steal of all CPUs from /proc/stat, in seconds (USER_HZ = 100).</summary>
    internal static double MachineCpuSeconds()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long J(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return (J(1) + J(2) + J(3) + J(6) + J(7) + J(8)) / 100.0;
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private Row Add(Row row)
    {
        Rows.Add(row);
        return row;
    }

    internal static void Keep(List<double>? samples, int rep, double value)
    {
        if (rep >= 0)
        {
            samples?.Add(value);
        }
    }

    private string Spec(string image) => $"{ceph.Pool}/{image}";

    private static Task<ToolResult> Rbd(params string[] args) => Tool.RunAsync("rbd", args);
}

/// <summary>
/// One fio job of the data rows: READ/WRITE pattern and block size over a file of Region bytes, IoSize bytes of I/O.
/// Its figure is MiB/s for the sequential jobs and IOPS for the random ones.
/// </summary>
internal sealed record DataJob(string Measure, string Rw, string Bs, long Region, long IoSize, string Note, bool FsyncEach = false)
{
    public bool Writes => Rw.Contains("write", StringComparison.Ordinal);
    public bool Random => Rw.StartsWith("rand", StringComparison.Ordinal);
    public string Unit => Random ? "IOPS" : "MiB/s";
    public long BlockBytes => long.Parse(Bs[..^1], CultureInfo.InvariantCulture) << (Bs[^1] == 'M' ? 20 : 10);
    public string RbdIoType => Writes ? "write" : "read";
    public string RbdPattern => Random ? "rand" : "seq";

    public Row NewRow(string baseline, string target = "", Func<Row, bool>? check = null) =>
        new(Measure, Unit) { Baseline = baseline, HigherIsBetter = true, Target = target, Check = check, Note = Note };

    public async Task<double> RunAsync(string file)
    {
        var (mib, iops) = await Bench.Fio(this, file);
        return Random ? iops : mib;
    }
}

internal static class RowExtensions
{
    public static Row With(this Row row, double value)
    {
        row.Plugin.Add(value);
        return row;
    }
}
