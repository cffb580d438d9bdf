using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>Turns <c>-o key=value</c> arguments into the dictionary Docker would send with Create.</summary>
internal static class CreateOptionPairs
{
    public static Dictionary<string, string> Parse(IEnumerable<string> pairs)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new VolumeException(VolumeErrorKind.InvalidArgument, $"-o {pair}: write key=value, e.g. -o size=20G");
            }

            var key = pair[..eq];
            if (!options.TryAdd(key, pair[(eq + 1)..]))
            {
                throw new VolumeException(VolumeErrorKind.InvalidArgument, $"-o {key} given twice; give each option once");
            }
        }

        return options;
    }
}
