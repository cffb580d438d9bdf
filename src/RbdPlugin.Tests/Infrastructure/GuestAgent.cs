using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace RbdPlugin.Tests.Infrastructure;

/// <summary>What a program run in the guest produced.</summary>
internal sealed record GuestResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    public GuestResult EnsureSuccess() => Succeeded
        ? this
        : throw new InvalidOperationException($"in the guest, `{CommandLine}` exited with {ExitCode}:\n{Stderr.Trim()}\n{Stdout.Trim()}");
}

/// <summary>
/// The host's end of QEMU's guest agent (qemu-ga) on the kernel VM's virtio-serial port (deploy/kernel-vm.sh):
/// guest-exec runs a program in the guest with an argument array (no shell on either side) and guest-exec-status
/// returns its exit code and captured output. One connection, one request at a time (the agent answers in
/// order); a long command is polled, so other requests interleave between polls. Each connection starts with
/// guest-sync-delimited and a fresh id, so a reply meant for a client that gave up is never taken for ours.
/// </summary>
internal sealed class GuestAgent(string socketPath) : IAsyncDisposable
{
    private static readonly string[] BaseEnv =
        ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C"];

    private readonly SemaphoreSlim _lock = new(1, 1);
    private Socket? _socket;
    private readonly List<byte> _buffer = [];

    public string SocketPath { get; } = socketPath;

    /// <summary>Runs a program to its end and returns its output; throws TimeoutException (after killing it) past the timeout.</summary>
    public async Task<GuestResult> ExecAsync(IReadOnlyList<string> argv, TimeSpan? timeout = null, string? stdin = null,
        IEnumerable<string>? env = null)
    {
        var line = string.Join(' ', argv);
        var pid = await SpawnAsync(argv, capture: true, stdin, env);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(5));
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var status = await CallAsync("guest-exec-status", new Dictionary<string, object?> { ["pid"] = pid });
            if (status.GetProperty("exited").GetBoolean())
            {
                var code = status.TryGetProperty("exitcode", out var c) ? c.GetInt32()
                    : status.TryGetProperty("signal", out var s) ? 128 + s.GetInt32() : -1;
                return new GuestResult(line, code, Decode(status, "out-data"), Decode(status, "err-data"));
            }

            if (DateTime.UtcNow > deadline)
            {
                await SpawnAsync(["/bin/kill", "-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], capture: false);
                throw new TimeoutException($"in the guest, `{line}` ran past {(timeout ?? TimeSpan.FromMinutes(5)).TotalSeconds:0} s and was killed");
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    /// <summary>Starts a program and returns its pid at once; without capture its output goes to /dev/null.</summary>
    public async Task<int> SpawnAsync(IReadOnlyList<string> argv, bool capture = false, string? stdin = null, IEnumerable<string>? env = null)
    {
        var arguments = new Dictionary<string, object?>
        {
            ["path"] = argv[0],
            ["arg"] = argv.Skip(1).ToArray(),
            ["env"] = BaseEnv.Concat(env ?? []).ToArray(),
            ["capture-output"] = capture,
        };
        if (stdin is not null)
        {
            arguments["input-data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(stdin));
        }

        return (await CallAsync("guest-exec", arguments)).GetProperty("pid").GetInt32();
    }

    public async Task PingAsync() => await CallAsync("guest-ping", null);

    /// <summary>One request and its reply. A connection that fails or stalls is dropped; the next call reconnects.</summary>
    public async Task<JsonElement> CallAsync(string command, Dictionary<string, object?>? arguments, TimeSpan? timeout = null)
    {
        await _lock.WaitAsync();
        using var bound = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            var socket = _socket ??= await ConnectAsync(bound.Token);
            var request = arguments is null
                ? JsonSerializer.Serialize(new Dictionary<string, object?> { ["execute"] = command })
                : JsonSerializer.Serialize(new Dictionary<string, object?> { ["execute"] = command, ["arguments"] = arguments });
            await socket.SendAsync(Encoding.UTF8.GetBytes(request + "\n"), bound.Token);
            while (true)
            {
                using var reply = JsonDocument.Parse(await ReadLineAsync(socket, bound.Token));
                if (reply.RootElement.TryGetProperty("error", out var error))
                {
                    throw new InvalidOperationException($"guest agent: {command}: {error}");
                }

                if (reply.RootElement.TryGetProperty("return", out var value))
                {
                    return value.Clone();
                }
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or JsonException)
        {
            Drop();
            throw new IOException($"guest agent on {SocketPath}: {command} failed ({e.Message}); is the VM up (deploy/kernel-vm.sh status)?", e);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct);
            _buffer.Clear();
            var id = Random.Shared.Next(1, int.MaxValue);
            // 0xFF resets the agent's parser; the reply to guest-sync-delimited starts with 0xFF, so whatever comes
            // before it is left over from an earlier client and dropped.
            await socket.SendAsync(
                new byte[] { 0xff }.Concat(Encoding.UTF8.GetBytes($"{{\"execute\":\"guest-sync-delimited\",\"arguments\":{{\"id\":{id}}}}}\n")).ToArray(), ct);
            while (true)
            {
                var line = await ReadLineAsync(socket, ct);
                if (line.Trim().Length == 0)
                {
                    continue;
                }

                try
                {
                    using var reply = JsonDocument.Parse(line);
                    if (reply.RootElement.TryGetProperty("return", out var value) && value.ValueKind == JsonValueKind.Number && value.GetInt64() == id)
                    {
                        return socket;
                    }
                }
                catch (JsonException)
                {
                    // a fragment of an earlier client's reply
                }
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The next reply line, without the 0xFF delimiters the agent puts before synced replies.</summary>
    private async Task<string> ReadLineAsync(Socket socket, CancellationToken ct)
    {
        var chunk = new byte[65536];
        while (true)
        {
            var newline = _buffer.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = _buffer.Take(newline).Where(b => b != 0xff).ToArray();
                _buffer.RemoveRange(0, newline + 1);
                return Encoding.UTF8.GetString(line);
            }

            var n = await socket.ReceiveAsync(chunk, ct);
            if (n == 0)
            {
                throw new IOException("the guest agent closed the connection");
            }

            _buffer.AddRange(chunk.AsSpan(0, n).ToArray());
        }
    }

    private static string Decode(JsonElement status, string property) =>
        status.TryGetProperty(property, out var data) ? Encoding.UTF8.GetString(Convert.FromBase64String(data.GetString()!)) : "";

    private void Drop()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public ValueTask DisposeAsync()
    {
        Drop();
        _lock.Dispose();
        return ValueTask.CompletedTask;
    }
}
