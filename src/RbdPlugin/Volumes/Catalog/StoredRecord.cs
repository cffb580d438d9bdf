using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RbdPlugin.Volumes;

/// <summary>
/// The check every <see cref="VolumeRecord"/> read back from Ceph passes before it is used (invariant 9): the index's
/// omap is writable by every host's Ceph key and an image's metadata by anyone who can write the image, so a record
/// is no more trusted than Docker's own options. Its name must be the key it was found under (a Mount of "a" never
/// maps image "b"), its namespace this plugin's, its options ones Create accepts.
/// </summary>
internal static partial class StoredRecord
{
    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,100}\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostIdPattern();

    /// <summary>Why <paramref name="record"/>, found under volume name <paramref name="name"/> (and, when it is an
    /// image's own record, on an image in <paramref name="pool"/>), must not be used; null when it may. The text is
    /// printable whatever the record holds.</summary>
    public static string? Problem(VolumeRecord? record, string name, string? pool, VolumeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var problem = RawProblem(record, name, pool, settings);
        return problem is null ? null : Printable(problem);
    }

    private static string? RawProblem(VolumeRecord? record, string name, string? pool, VolumeSettings settings)
    {
        if (record is null)
        {
            return "it is not a volume record (not JSON, or not an object)";
        }

        if (!VolumeName.IsValid(record.Name))
        {
            return $"its name {Quote(record.Name)} is not a valid volume name";
        }

        if (!string.Equals(record.Name, name, StringComparison.Ordinal))
        {
            return $"it names volume {Quote(record.Name)}, but it is the entry of {Quote(name)}";
        }

        if (!string.Equals(record.Namespace, settings.Namespace, StringComparison.Ordinal))
        {
            return $"its namespace {Quote(record.Namespace)} is not this plugin's ({Quote(settings.Namespace)}, setting Namespace)";
        }

        if (record.CreatedBy is null || !HostIdPattern().IsMatch(record.CreatedBy))
        {
            return $"its createdBy {Quote(record.CreatedBy)} is not a host id (letters, digits, '_', '.', '-')";
        }

        if (record.ResizedTo is { } resized && (resized == 0 || resized % 512 != 0))
        {
            return $"its resizedTo {resized} is not a positive multiple of 512 bytes";
        }

        if (StoredSpec.Problem(record.Spec, settings) is { } specProblem)
        {
            return $"its volume options are not ones Create accepts: {specProblem}";
        }

        if (pool is not null && !string.Equals(record.Spec.Pool, pool, StringComparison.Ordinal))
        {
            return $"it places the volume in pool {Quote(record.Spec.Pool)}, but it is the record of an image in pool {Quote(pool)}";
        }

        return null;
    }

    /// <summary>A value from a record as JSON shows it: quoted, control characters escaped.</summary>
    public static string Quote(string? value) =>
        value is null ? "null" : "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";

    /// <summary>The text with every control character (a newline that would forge a log line, a terminal escape) as \uXXXX.</summary>
    public static string Printable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        var printable = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            printable.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        }

        return printable.ToString();
    }
}
