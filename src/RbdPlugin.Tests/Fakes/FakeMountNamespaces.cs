using RbdPlugin.Node;

namespace RbdPlugin.Tests.Fakes;

/// <summary>Every mount namespace of the fake host: its own mount table, plus what the tests put in the others
/// (a container's bind mount of a volume's device).</summary>
internal sealed class FakeMountNamespaces(FakeHost host) : IMountNamespaces
{
    public List<MountEntry> Others { get; } = [];

    public IReadOnlyList<MountEntry> ReadAll() => [.. host.Read(), .. Others];
}
