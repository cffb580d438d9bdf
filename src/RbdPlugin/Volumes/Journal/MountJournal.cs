using System.Collections.Concurrent;
using System.Text.Json;

namespace RbdPlugin.Volumes;

/// <summary>
/// The mount journal: one small JSON file per mounted volume under StateDir/volumes, replaced atomically. One file
/// per volume means no lock is shared between volumes; callers hold the volume's lock while they change its entry.
/// </summary>
internal sealed class MountJournal
{
    private readonly string _directory;
    private readonly ConcurrentDictionary<string, JournalEntry> _entries = new(StringComparer.Ordinal);

    public MountJournal(string stateDir)
    {
        _directory = Path.Combine(stateDir, "volumes");
        Directory.CreateDirectory(_directory);
    }

    /// <summary>Reads every entry from disk; damaged files are reported and skipped, never deleted.</summary>
    public IReadOnlyList<string> Load()
    {
        var problems = new List<string>();
        _entries.Clear();
        foreach (var file in Directory.EnumerateFiles(_directory, "*.json"))
        {
            try
            {
                var entry = JsonSerializer.Deserialize(File.ReadAllBytes(file), VolumesJsonContext.Default.JournalEntry);
                if (entry is not null && VolumeName.IsValid(entry.Name))
                {
                    _entries[entry.Name] = entry;
                    continue;
                }

                problems.Add($"{file}: not a journal entry");
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
                problems.Add($"{file}: {e.Message}");
            }
        }

        return problems;
    }

    public JournalEntry? Get(string name) => _entries.TryGetValue(name, out var entry) ? entry : null;

    public IReadOnlyCollection<JournalEntry> All => _entries.Values.ToList();

    /// <summary>Writes the entry durably, then makes it visible.</summary>
    public void Save(JournalEntry entry)
    {
        AtomicFile.Write(PathOf(entry.Name), JsonSerializer.SerializeToUtf8Bytes(entry, VolumesJsonContext.Default.JournalEntry));
        _entries[entry.Name] = entry;
    }

    public void Delete(string name)
    {
        AtomicFile.Delete(PathOf(name));
        _entries.TryRemove(name, out _);
    }

    private string PathOf(string name) => Path.Combine(_directory, name + ".json");
}
