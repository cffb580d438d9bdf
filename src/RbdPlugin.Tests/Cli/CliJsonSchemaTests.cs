using System.Text.Json;
using RbdPlugin.Cli;
using RbdPlugin.Hosting;
using RbdPlugin.Operations;

namespace RbdPlugin.Tests.Cli;

/// <summary>The --json output is a contract with runbook scripts: these pin its exact field names (docs/runbook.md).</summary>
[Trait("Tier", "Fast")]
public sealed class CliJsonSchemaTests
{
    private static readonly DateTimeOffset When = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static string[] Fields(string json, string? property = null)
    {
        var root = JsonDocument.Parse(json).RootElement;
        var element = root.ValueKind == JsonValueKind.Array ? root[0] : root;
        element = property is null ? element : element.GetProperty(property);
        return element.EnumerateObject().Select(p => p.Name).ToArray();
    }

    [Fact]
    public void Ls_Json_IsAnArrayOfRowsWithTheDocumentedFields()
    {
        IReadOnlyList<VolumeListItem> items = [new("db1", "rbd", 1 << 30, "1G", null, null, "ext4", null, "none", null, When,
            new Dictionary<string, ulong> { ["iops-limit"] = 500 }, Encrypted: true)];

        var json = JsonSerializer.Serialize(items, CliJsonContext.Default.IReadOnlyListVolumeListItem);

        Assert.Equal(["name", "pool", "sizeBytes", "size", "usedBytes", "used", "fstype", "owner", "lease", "mountedWhere", "createdAt", "limits", "encrypted"], Fields(json));
        Assert.Contains("\"encrypted\": true", json, StringComparison.Ordinal);
        Assert.Equal(500, JsonDocument.Parse(json).RootElement[0].GetProperty("limits").GetProperty("iops-limit").GetInt32());
        Assert.Contains("\"owner\": null", json, StringComparison.Ordinal);
        Assert.Contains("\"usedBytes\": null", json, StringComparison.Ordinal);
        Assert.Contains("\"mountedWhere\": null", json, StringComparison.Ordinal);
        Assert.Contains("\"createdAt\": \"2026-01-02T03:04:05+00:00\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_Json_HasNameCreatedAtStatusWatchers_AndStatusKeepsTheDaemonsKeys()
    {
        var status = new Dictionary<string, object>
        {
            ["pool"] = "rbd", ["sizeBytes"] = 5UL, ["mounted"] = true, ["lease"] = "held", ["owner"] = "host-a",
            ["limits"] = new Dictionary<string, ulong> { ["bps-limit"] = 1UL << 20 },
        };

        var json = JsonSerializer.Serialize(new VolumeInspectResult("db1", When, status, ["client.4 at 1.2.3.4:0/5"]), CliJsonContext.Default.VolumeInspectResult);

        Assert.Equal(["name", "createdAt", "status", "watchers"], Fields(json));
        Assert.Equal(["pool", "sizeBytes", "mounted", "lease", "owner", "limits"], Fields(json, "status"));
        Assert.Contains("\"bps-limit\": 1048576", json, StringComparison.Ordinal);
        Assert.Contains("\"sizeBytes\": 5", json, StringComparison.Ordinal);
        Assert.Contains("\"mounted\": true", json, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateRmTakeoverError_Json_HaveTheDocumentedFields()
    {
        Assert.Equal(["name", "image", "sizeBytes", "fstype"],
            Fields(JsonSerializer.Serialize(new VolumeCreateResult("db1", "rbd/db1", 1, "xfs"), CliJsonContext.Default.VolumeCreateResult)));
        Assert.Equal(["name", "removed", "action"],
            Fields(JsonSerializer.Serialize(new VolumeRemoveResult("db1", true, "trash"), CliJsonContext.Default.VolumeRemoveResult)));
        Assert.Equal(["name", "previousOwner", "brokeLiveLease", "fenced"],
            Fields(JsonSerializer.Serialize(new VolumeTakeoverResult("db1", "host-a", true, ["1.2.3.4:0/5"]), CliJsonContext.Default.VolumeTakeoverResult)));
        Assert.Equal(["error", "exitCode"], Fields(JsonSerializer.Serialize(new CliError("x", 5), CliJsonContext.Default.CliError)));
    }

    [Fact]
    public void TrashLsRestorePurge_Json_HaveTheDocumentedFields()
    {
        IReadOnlyList<TrashListItem> items = [new("db1", "11b07b71c9ad", "rbd", null, null, When, When.AddDays(7))];
        var ls = JsonSerializer.Serialize(items, TrashCliJsonContext.Default.IReadOnlyListTrashListItem);
        Assert.Equal(["name", "imageId", "pool", "sizeBytes", "size", "removedAt", "expiresAt"], Fields(ls));
        Assert.Contains("\"sizeBytes\": null", ls, StringComparison.Ordinal);
        Assert.Contains("\"expiresAt\": \"2026-01-09T03:04:05+00:00\"", ls, StringComparison.Ordinal);

        Assert.Equal(["name", "imageId", "restoredAs", "image"],
            Fields(JsonSerializer.Serialize(new TrashRestoreResult("db1", "11b07b71c9ad", "db2", "rbd/db2"), TrashCliJsonContext.Default.TrashRestoreResult)));
        IReadOnlyList<TrashPurgedItem> purged = [new("db1", "11b07b71c9ad", "rbd")];
        Assert.Equal(["name", "imageId", "pool"], Fields(JsonSerializer.Serialize(purged, TrashCliJsonContext.Default.IReadOnlyListTrashPurgedItem)));
    }

    [Fact]
    public void HostFencesUnfence_Json_HaveTheDocumentedFields()
    {
        IReadOnlyList<FenceListItem> fences = [new("127.0.0.1:0/77", "host-a", "db1", When, "host-b", When.AddDays(3650))];
        Assert.Equal(["address", "host", "volume", "fencedAt", "fencedBy", "until"],
            Fields(JsonSerializer.Serialize(fences, CliJsonContext.Default.IReadOnlyListFenceListItem)));
        Assert.Equal(["host", "unfenced"],
            Fields(JsonSerializer.Serialize(new UnfenceResult("host-a", ["127.0.0.1:0/77"]), CliJsonContext.Default.UnfenceResult)));
    }

    [Fact]
    public void Doctor_Json_IsAnArrayOfNameOkDetailFix_FixNullWhenOk()
    {
        IReadOnlyList<DoctorCheck> checks = [DoctorCheck.Pass("ceph", "connected"), DoctorCheck.Fail("keyring", "Keyring=/x: file not found", "write it")];

        var json = JsonSerializer.Serialize(checks, DoctorJsonContext.Default.IReadOnlyListDoctorCheck);

        Assert.Equal(["name", "ok", "detail", "fix"], Fields(json));
        Assert.Contains("\"fix\": null", json, StringComparison.Ordinal);
        Assert.Contains("\"fix\": \"write it\"", json, StringComparison.Ordinal);
    }
}
