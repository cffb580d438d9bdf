using System.Text.Json.Serialization;
using RbdPlugin.Backups;
using RbdPlugin.Hosting;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

// The JSON the runbook commands print with --json: camelCase, every field always present (null when unknown).
// Scripts depend on these names; docs/runbook.md documents them and CliJsonSchemaTests pin them. The records
// are the operations' results (Operations/, Backups/); only their printing is the CLI's.

/// <summary>Stderr with --json on failure: the message and the exit code.</summary>
internal sealed record CliError(string Error, int ExitCode);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(IReadOnlyList<VolumeListItem>))]
[JsonSerializable(typeof(VolumeInspectResult))]
[JsonSerializable(typeof(VolumeCreateResult))]
[JsonSerializable(typeof(VolumeRemoveResult))]
[JsonSerializable(typeof(VolumeTakeoverResult))]
[JsonSerializable(typeof(IReadOnlyList<FenceListItem>))]
[JsonSerializable(typeof(UnfenceResult))]
[JsonSerializable(typeof(CliError))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(Dictionary<string, ulong>))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(IReadOnlyList<TrashListItem>))]
[JsonSerializable(typeof(TrashRestoreResult))]
[JsonSerializable(typeof(IReadOnlyList<TrashPurgedItem>))]
internal sealed partial class TrashCliJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(BackupCreateResult))]
[JsonSerializable(typeof(IReadOnlyList<BackupListItem>))]
[JsonSerializable(typeof(BackupRestoreResult))]
[JsonSerializable(typeof(BackupPruneResult))]
internal sealed partial class BackupCliJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(IReadOnlyList<DoctorCheck>))]
internal sealed partial class DoctorJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(SnapshotTaken))]
[JsonSerializable(typeof(IReadOnlyList<SnapshotListItem>))]
[JsonSerializable(typeof(SnapshotRemoved))]
[JsonSerializable(typeof(SnapshotRolledBack))]
[JsonSerializable(typeof(VolumeCloned))]
[JsonSerializable(typeof(VolumeResized))]
[JsonSerializable(typeof(VolumeFlattened))]
[JsonSerializable(typeof(VolumeLimited))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
