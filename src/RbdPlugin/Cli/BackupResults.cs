using System.Text.Json.Serialization;

namespace RbdPlugin.Cli;

// The JSON `backup create|ls|restore --json` print: camelCase, every field always present (null when unknown).
// README "Backups" documents them and BackupCliJsonSchemaTests pin them. Failures print CliError.

/// <summary><c>backup create</c>: the backup written, and the superseded snapshot removed from the image.</summary>
/// <param name="Kind">"full" or "incremental".</param>
/// <param name="RemovedSnapshot">The previous backup's snapshot, removed from the image now that this one holds; null when there was none.</param>
/// <param name="Warning">Something to tidy by hand that did not make the backup fail; null when none.</param>
internal sealed record BackupCreateResult(string Id, string Volume, string Kind, string? ParentId, DateTimeOffset CreatedAt, string Snapshot,
    string Directory, string File, long Bytes, string Sha256, ulong ImageSizeBytes, string? RemovedSnapshot, string? Warning);

/// <summary>One backup of <c>backup ls</c>; only id, volume and status are known for a backup whose manifest is missing or unreadable.</summary>
/// <param name="Status">"complete", "corrupt" or "incomplete" (its own data, or any backup it builds on).</param>
/// <param name="Problem">What is wrong; null when complete.</param>
internal sealed record BackupListItem(string Id, string Volume, string? Kind, string? ParentId, DateTimeOffset? CreatedAt, ulong? ImageSizeBytes,
    long? Bytes, string Status, string? Problem);

/// <summary><c>backup restore</c>: the new volume and the backups applied, full backup first.</summary>
internal sealed record BackupRestoreResult(string Name, string Image, string BackupId, IReadOnlyList<string> Chain, ulong SizeBytes, string Fstype);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(BackupCreateResult))]
[JsonSerializable(typeof(IReadOnlyList<BackupListItem>))]
[JsonSerializable(typeof(BackupRestoreResult))]
internal sealed partial class BackupCliJsonContext : JsonSerializerContext;
