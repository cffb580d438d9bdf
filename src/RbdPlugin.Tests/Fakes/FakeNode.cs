using RbdPlugin.Node;

namespace RbdPlugin.Tests.Fakes;

/// <summary>
/// Answers commands from a script: the first rule whose program matches and whose arguments start with the given
/// prefix wins; a rule may answer differently on each call. Records every call. Unscripted commands fail the test.
/// </summary>
internal sealed class FakeCommandRunner : ICommandRunner
{
    private readonly List<(string Program, string[] Prefix, Func<IReadOnlyList<string>, CommandResult> Answer)> _rules = [];

    public List<(string Program, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string>? Env)> Calls { get; } = [];

    public FakeCommandRunner On(string program, string[] argsPrefix, CommandResult result) =>
        On(program, argsPrefix, _ => result);

    public FakeCommandRunner On(string program, string[] argsPrefix, Func<IReadOnlyList<string>, CommandResult> answer)
    {
        _rules.Insert(0, (program, argsPrefix, answer)); // later rules override earlier ones
        return this;
    }

    public FakeCommandRunner OnSequence(string program, string[] argsPrefix, params CommandResult[] results)
    {
        var i = 0;
        return On(program, argsPrefix, _ => results[Math.Min(i++, results.Length - 1)]);
    }

    public IEnumerable<IReadOnlyList<string>> CallsTo(string program, params string[] argsPrefix) =>
        Calls.Where(c => c.Program == program && c.Args.Take(argsPrefix.Length).SequenceEqual(argsPrefix)).Select(c => c.Args);

    public async Task<CommandResult> RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct,
        IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var result = await TryRunAsync(program, args, ct, env, timeout);
        return result.Succeeded ? result : throw HostCommandException.FromExit(program, args, result);
    }

    public Task<CommandResult> TryRunAsync(string program, IReadOnlyList<string> args, CancellationToken ct,
        IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        Calls.Add((program, args, env));
        var rule = _rules.FirstOrDefault(r => r.Program == program && args.Take(r.Prefix.Length).SequenceEqual(r.Prefix));
        return rule.Answer is null
            ? throw new InvalidOperationException($"unscripted command: {program} {string.Join(' ', args)}")
            : Task.FromResult(rule.Answer(args));
    }

    /// <summary>What each <see cref="RunWithInputAsync"/> wrote to the program's stdin, in call order (the whole
    /// input when it finished, what it wrote before it failed or cancelled otherwise).</summary>
    public List<(IReadOnlyList<string> Args, byte[] Input)> Inputs { get; } = [];

    public async Task<CommandResult> RunWithInputAsync(string program, IReadOnlyList<string> args, Func<Stream, CancellationToken, Task> input,
        CancellationToken ct, TimeSpan? timeout = null)
    {
        // As a real program would: read all of stdin first, then answer.
        using var stdin = new MemoryStream();
        try
        {
            await input(stdin, ct);
        }
        finally
        {
            Inputs.Add((args, stdin.ToArray()));
        }

        ct.ThrowIfCancellationRequested(); // the caller killed the program
        return await RunAsync(program, args, ct, null, timeout);
    }

    public static CommandResult Ok(string stdout = "") => new(0, stdout, "");

    public static CommandResult Fail(int exitCode, string stderr) => new(exitCode, "", stderr);
}

internal sealed class FakeMountTable : IMountTable
{
    public List<MountEntry> Entries { get; } = [];

    public IReadOnlyList<MountEntry> Read() => [.. Entries];
}

internal sealed class FakeHostProbe : IHostProbe
{
    public HashSet<string> Paths { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Programs { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);

    public bool Exists(string path) => Paths.Contains(path) || Files.ContainsKey(path);

    public string? ReadFile(string path) => Files.GetValueOrDefault(path);

    public bool HasProgram(string name) => Programs.Contains(name);

    /// <summary>Running processes: pid and argv.</summary>
    public Dictionary<int, string[]> Processes { get; } = [];

    public IReadOnlyList<int> FindProcesses(string program, string argument) =>
        [.. Processes.Where(p => Path.GetFileName(p.Value[0]) == program && p.Value.Contains(argument)).Select(p => p.Key)];

    public Dictionary<string, byte[]> Heads { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, ulong> DeviceSizes { get; } = new(StringComparer.Ordinal);

    public byte[] ReadHead(string path, int count) => Heads.TryGetValue(path, out var head) ? head[..Math.Min(count, head.Length)] : [];

    public ulong BlockDeviceSize(string device) => DeviceSizes[device];

    /// <summary>What direct reads see on a device, from offset 0 (missing = all zeros, as a fresh image).</summary>
    public Dictionary<string, byte[]> DeviceBytes { get; } = new(StringComparer.Ordinal);

    /// <summary>Return an exception to make a direct read of (device, offset) fail, as an I/O error would.</summary>
    public Func<string, long, IOException?> FailDirectRead { get; set; } = (_, _) => null;

    /// <summary>Every direct read: device, offset, count.</summary>
    public List<(string Path, long Offset, int Count)> DirectReads { get; } = [];

    public byte[] ReadDirect(string path, long offset, int count)
    {
        DirectReads.Add((path, offset, count));
        if (FailDirectRead(path, offset) is { } e)
        {
            throw e;
        }

        var size = DeviceSizes.TryGetValue(path, out var known) ? (long)known : offset + count;
        var bytes = new byte[Math.Max(0, Math.Min(count, size - offset))];
        if (DeviceBytes.TryGetValue(path, out var content) && offset < content.Length)
        {
            content.AsSpan((int)offset, Math.Min(bytes.Length, content.Length - (int)offset)).CopyTo(bytes);
        }

        return bytes;
    }

    /// <summary>PID → how many more IsRunning checks it survives before it ends (absent: runs until removed).</summary>
    public Dictionary<int, int> EndsAfterChecks { get; } = [];

    public bool IsRunning(int pid)
    {
        if (EndsAfterChecks.TryGetValue(pid, out var left) && (EndsAfterChecks[pid] = left - 1) < 0)
        {
            Processes.Remove(pid);
        }

        return Processes.ContainsKey(pid);
    }

    /// <summary>Block devices something holds open (a mounted filesystem).</summary>
    public HashSet<string> DevicesInUse { get; } = new(StringComparer.Ordinal);

    public bool IsInUse(string device) => DevicesInUse.Contains(device);

    /// <summary>Unix sockets with a live server behind them.</summary>
    public HashSet<string> ListeningSockets { get; } = new(StringComparer.Ordinal);

    public bool AcceptsConnections(string unixSocketPath) => ListeningSockets.Contains(unixSocketPath);
}
