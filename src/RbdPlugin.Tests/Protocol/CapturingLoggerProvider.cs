using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RbdPlugin.Tests.Protocol;

/// <summary>Keeps every log entry, with its structured values and the scopes around it.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly AsyncLocal<ImmutableScopes?> scopes = new();

    internal sealed record Entry(
        string Category,
        LogLevel Level,
        EventId EventId,
        string Message,
        IReadOnlyDictionary<string, object?> Values,
        IReadOnlyDictionary<string, object?> ScopeValues,
        Exception? Exception);

    private sealed record ImmutableScopes(IReadOnlyDictionary<string, object?> Values, ImmutableScopes? Parent);

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private static Dictionary<string, object?> ValuesOf(object? state) =>
        state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value)
            : [];

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable BeginScope<TState>(TState state)
            where TState : notnull
        {
            var parent = provider.scopes.Value;
            provider.scopes.Value = new ImmutableScopes(ValuesOf(state), parent);
            return new Pop(provider, parent);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopeValues = new Dictionary<string, object?>();
            for (var scope = provider.scopes.Value; scope is not null; scope = scope.Parent)
            {
                foreach (var (key, value) in scope.Values)
                {
                    scopeValues.TryAdd(key, value);
                }
            }

            provider.Entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), ValuesOf(state), scopeValues, exception));
        }
    }

    private sealed class Pop(CapturingLoggerProvider provider, ImmutableScopes? parent) : IDisposable
    {
        public void Dispose() => provider.scopes.Value = parent;
    }
}
