using System.Diagnostics;
using System.Globalization;
using System.Text;
using RbdPlugin.Bench;

// rbd-plugin-bench run     --daemon BIN --work DIR --ceph-conf CONF (--own-pool rbd-bench-N | --pool P --ceph-id ID --keyring K)
//                          [--admin-id admin] [--quick] [--out FILE] [--only daemon,control,list,mount,data,concurrency]
//                          [--baseline-daemon BIN]
// rbd-plugin-bench cleanup --work DIR --ceph-conf CONF [--own-pool rbd-bench-N] [--admin-id admin]
// bench/run.sh is the way in; it builds both and always calls cleanup at the end.

var verb = args.Length > 0 ? args[0] : "";
var opts = ParseFlags(args.Skip(1).ToArray());
string Need(string key) => opts.TryGetValue(key, out var v) && v.Length > 0 ? v : throw new ArgumentException($"missing --{key}");
string? Opt(string key) => opts.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

try
{
    return verb switch
    {
        "run" => await RunAsync(),
        "cleanup" => await CleanupAsync(),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"rbd-plugin-bench: {e.Message}");
    return 2;
}

async Task<int> CleanupAsync()
{
    var problems = await Cleanup.SweepHostAsync(Need("work"));
    if (Opt("own-pool") is { } pool)
    {
        problems.AddRange(await BenchCluster.DeleteAsync(Need("ceph-conf"), Opt("admin-id") ?? "admin", pool));
    }

    foreach (var p in problems)
    {
        Console.Error.WriteLine($"bench cleanup: {p}");
    }

    return problems.Count == 0 ? 0 : 1;
}

async Task<int> RunAsync()
{
    var plan = Plan.For(opts.ContainsKey("quick"));
    var work = Path.GetFullPath(Need("work"));
    var conf = Need("ceph-conf");
    Directory.CreateDirectory(work);
    var wall = Stopwatch.StartNew();
    using var load = new LoadSampler();

    CephTarget ceph;
    if (Opt("own-pool") is { } ownPool)
    {
        Console.Error.WriteLine($"bench: creating pool {ownPool} and client.{ownPool}");
        ceph = await BenchCluster.CreateAsync(conf, Opt("admin-id") ?? "admin", ownPool, work);
    }
    else
    {
        ceph = new CephTarget(conf, Need("ceph-id"), Need("keyring"), Need("pool"));
    }

    Tool.CephEnv["CEPH_CONF"] = ceph.Conf;
    Tool.CephEnv["CEPH_ARGS"] = $"--id {ceph.Id} --keyring {ceph.Keyring}";

    // Short names: a per-run prefix keeps them apart from anything else in a shared pool.
    var prefix = "bn" + Convert.ToHexStringLower(BitConverter.GetBytes(Environment.ProcessId))[..4] + "-";
    var hand = new ByHand(ceph, Path.Combine(work, "hand"), await ByHand.PluginMkfsFlagsAsync());
    var only = Opt("only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
    List<Row> rows;
    if (Opt("baseline-daemon") is { } baselineBinary)
    {
        rows = await CompareAsync(baselineBinary, work, ceph, hand, plan, prefix, only);
    }
    else
    {
        await using (var daemon = new Daemon(Need("daemon"), Path.Combine(work, "plugin"), ceph, "bench-" + Environment.MachineName))
        {
            Console.Error.WriteLine("bench: starting the daemon (warm-up start, not timed)");
            await daemon.StartAsync();
            using var client = new TimedPlugin(daemon.Socket);
            var bench = new Bench(daemon, client, ceph, hand, plan, prefix, only);
            try
            {
                await bench.RunAsync();
            }
            finally
            {
                rows = bench.Rows;
            }
        }
    }

    var machine = await MachineAsync(load, wall.Elapsed) + $"\n- daemon: {Need("daemon")}"
        + (Opt("baseline-daemon") is { } baseline ? $"\n- baseline daemon (the \"baseline\" column): {baseline}" : "");
    var text = new StringBuilder()
        .AppendLine(CultureInfo.InvariantCulture, $"rbd-plugin benchmark, {(plan.Quick ? "--quick" : "default")} run, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC")
        .AppendLine()
        .AppendLine(machine)
        .AppendLine()
        .Append(Report.Markdown(rows))
        .ToString();
    Console.WriteLine(text);
    if (Opt("out") is { } outFile)
    {
        await File.WriteAllTextAsync(outFile, text);
        await File.WriteAllTextAsync(outFile + ".json", Report.Json(rows));
        Console.Error.WriteLine($"bench: table written to {outFile} (every sample in {outFile}.json)");
    }

    return rows.Any(r => r.Failure is not null) ? 1 : 0;
}

// Both builds serve at once, each with its own socket, state dir, mount root and host id; see Compare.
async Task<List<Row>> CompareAsync(string baselineBinary, string work, CephTarget ceph, ByHand hand, Plan plan, string prefix,
    IReadOnlySet<string>? only)
{
    await using var a = new Daemon(Need("daemon"), Path.Combine(work, "plugin"), ceph, "bench-" + Environment.MachineName);
    await using var b = new Daemon(baselineBinary, Path.Combine(work, "baseline"), ceph, "bench-base-" + Environment.MachineName);
    Console.Error.WriteLine("bench: starting both daemons (warm-up starts, not timed)");
    await a.StartAsync();
    await b.StartAsync();
    using var clientA = new TimedPlugin(a.Socket);
    using var clientB = new TimedPlugin(b.Socket);
    var compare = new Compare(a, new Bench(a, clientA, ceph, hand, plan, prefix), clientA,
        b, new Bench(b, clientB, ceph, hand, plan, prefix), clientB, plan, prefix, only);
    try
    {
        await compare.RunAsync();
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"bench: compare failed: {e}");
        compare.Rows.Where(r => r.Plugin.Count == 0 || r.Base.Count == 0).ToList().ForEach(r => r.Failure = e.Message);
    }

    return compare.Rows;
}

static async Task<string> MachineAsync(LoadSampler load, TimeSpan elapsed)
{
    var mem = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    var kernel = (await File.ReadAllTextAsync("/proc/sys/kernel/osrelease")).Trim();
    var ceph = (await Tool.TryRunAsync("ceph", ["--version"], cephEnv: false)).Stdout.Trim();
    var fio = Tool.OnPath("fio") ? (await Tool.TryRunAsync("fio", ["--version"], cephEnv: false)).Stdout.Trim() : "not installed (dd used)";
    var e2fs = (await Tool.TryRunAsync("mke2fs", ["-V"], cephEnv: false)).Stderr.Split('\n')[0].Trim();
    return string.Join('\n',
        $"- machine: {Environment.ProcessorCount} CPUs, {double.Parse(mem, CultureInfo.InvariantCulture) / 1024 / 1024:0.0} GiB RAM, kernel {kernel}, .NET {Environment.Version}",
        $"- ceph: {ceph} (dev cluster: 1 mon, 1 memstore OSD on 127.0.0.1); mapper rbd-fuse + loop; {e2fs}; fio {fio}",
        $"- load average (1 min) during the run: {load.Summary()}; run took {elapsed.TotalMinutes:0.0} min");
}

static int Usage()
{
    Console.Error.WriteLine("usage: rbd-plugin-bench run|cleanup ... (use bench/run.sh)");
    return 2;
}

static Dictionary<string, string> ParseFlags(string[] a)
{
    var d = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i < a.Length; i++)
    {
        if (!a[i].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"unexpected argument '{a[i]}'");
        }

        var key = a[i][2..];
        d[key] = i + 1 < a.Length && !a[i + 1].StartsWith("--", StringComparison.Ordinal) ? a[++i] : "";
    }

    return d;
}

/// <summary>Samples /proc/loadavg every 5 s: the other engineers' work on this machine shows up here.</summary>
internal sealed class LoadSampler : IDisposable
{
    private readonly List<double> _samples = [];
    private readonly Timer _timer;

    public LoadSampler() => _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromSeconds(5));

    public string Summary()
    {
        lock (_samples)
        {
            return _samples.Count == 0
                ? "n/a"
                : $"min {_samples.Min():0.00}, median {Stats.Median(_samples):0.00}, max {_samples.Max():0.00}";
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Sample()
    {
        var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        lock (_samples)
        {
            _samples.Add(double.Parse(first, CultureInfo.InvariantCulture));
        }
    }
}
