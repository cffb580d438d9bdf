using System.Text.Json.Nodes;
using System.Text.Json;
using RbdPlugin.Backups;
using RbdPlugin.Cli;

namespace RbdPlugin.Tests.Backups;

/// <summary>The --json of <c>backup create|ls|prune|restore</c> and the manifest format are contracts: these pin their field names (docs/runbook.md, Backups).</summary>
[Trait("Tier", "Fast")]
public sealed class BackupCliJsonSchemaTests
{
    private static readonly DateTimeOffset When = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static string[] Fields(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void Create_Json_HasTheDocumentedFields()
    {
        var json = JsonSerializer.Serialize(new BackupCreateResult("20260102T030405Z-1a2b3c", "db1", "full", null, When, "rbd-plugin-backup-20260102T030405Z-1a2b3c",
            "/b/db1", "20260102T030405Z-1a2b3c.rbddiff", 10, "ab", 1 << 30, null, null), BackupCliJsonContext.Default.BackupCreateResult);

        Assert.Equal(["id", "volume", "kind", "parentId", "createdAt", "snapshot", "directory", "file", "bytes", "sha256", "imageSizeBytes", "removedSnapshot", "warning"],
            Fields(Parse(json)));
        Assert.Equal(JsonValueKind.Null, Parse(json).GetProperty("parentId").ValueKind);
    }

    [Fact]
    public void Ls_Json_IsAnArrayOfRowsWithTheDocumentedFields_NullsForAnUnreadableBackup()
    {
        IReadOnlyList<BackupListItem> items =
        [
            new("20260102T030405Z-1a2b3c", "db1", "full", null, When, 1 << 30, 10, "complete", null),
            new("20260102T030406Z-1a2b3d", "db1", null, null, null, null, null, "incomplete", "interrupted"),
        ];

        var rows = Parse(JsonSerializer.Serialize(items, BackupCliJsonContext.Default.IReadOnlyListBackupListItem));

        Assert.Equal(["id", "volume", "kind", "parentId", "createdAt", "imageSizeBytes", "bytes", "status", "problem"], Fields(rows[0]));
        Assert.Equal(Fields(rows[0]), Fields(rows[1]));
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("createdAt").ValueKind);
    }

    [Fact]
    public void Restore_Json_HasTheDocumentedFields()
    {
        var json = JsonSerializer.Serialize(new BackupRestoreResult("db2", "rbd/db2", "b", ["a", "b"], 1 << 30, "ext4"), BackupCliJsonContext.Default.BackupRestoreResult);

        Assert.Equal(["name", "image", "backupId", "chain", "sizeBytes", "fstype"], Fields(Parse(json)));
        Assert.Equal(JsonValueKind.Array, Parse(json).GetProperty("chain").ValueKind);
    }

    [Fact]
    public void Prune_Json_HasTheDocumentedFields()
    {
        var json = JsonSerializer.Serialize(new BackupPruneResult("db1", "/b/db1", ["b", "a"], ["x"], [new("y", "no readable manifest")], true),
            BackupCliJsonContext.Default.BackupPruneResult);

        Assert.Equal(["volume", "directory", "kept", "deleted", "skipped", "dryRun"], Fields(Parse(json)));
        Assert.Equal(["id", "problem"], Fields(Parse(json).GetProperty("skipped")[0]));
        Assert.Equal(JsonValueKind.Array, Parse(json).GetProperty("deleted").ValueKind);
        Assert.True(Parse(json).GetProperty("dryRun").GetBoolean());
    }

    [Fact]
    public void Manifest_Json_IsSchema1WithTheDocumentedFields_AndReadsBack()
    {
        var manifest = new BackupManifest(1, "20260102T030405Z-1a2b3c", "db1", When, null, "rbd-plugin-backup-20260102T030405Z-1a2b3c", "rbd/db1",
            64UL << 20, BackupFiles.Spec, [new BackupFile("20260102T030405Z-1a2b3c.rbddiff", 10, "ab")]);

        var bytes = manifest.ToJsonBytes();
        var root = JsonDocument.Parse(bytes).RootElement;

        Assert.Equal(["schema", "id", "volume", "createdAt", "parentId", "snapshot", "image", "imageSizeBytes", "volumeOptions", "files", "wrappedKey"], Fields(root));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("wrappedKey").ValueKind);
        Assert.Equal(["pool", "sizeBytes", "fsType", "features", "objectSize", "dataPool", "mkfsOptions", "mountOptions", "fromSnapshot", "limits"], Fields(root.GetProperty("volumeOptions")));
        Assert.Equal(["name", "bytes", "sha256"], Fields(root.GetProperty("files")[0]));
        Assert.Equal(1, root.GetProperty("schema").GetInt32());
        var back = BackupManifest.Parse(bytes);
        Assert.Equal(manifest with { Files = [] }, back with { Files = [] });
        Assert.Equal(manifest.Files, back.Files);
        // A manifest from before wrappedKey existed reads as a plain volume's.
        var older = JsonNode.Parse(bytes)!.AsObject();
        older.Remove("wrappedKey");
        Assert.Null(BackupManifest.Parse(System.Text.Encoding.UTF8.GetBytes(older.ToJsonString())).WrappedKey);
    }
}
