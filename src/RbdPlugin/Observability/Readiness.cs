using System.Text.Json.Serialization;

namespace RbdPlugin.Observability;

/// <summary>/readyz's answer: ready, or each reason it is not.</summary>
internal sealed record ReadyResponse(string Status, bool CephReachable, bool Reconciled, IReadOnlyList<string> NotReady);

/// <summary>
/// Ready = the start-up reconciliation has finished (the journal, the mount table and the mapped devices agree,
/// invariant 4) and the Ceph cluster answers now. Liveness is /healthz: a daemon can be alive and not ready while
/// the cluster is away, and should then not be restarted, only not relied on.
/// </summary>
internal sealed class Readiness(CephProbe ceph)
{
    private volatile bool _reconciled;

    public void MarkReconciled() => _reconciled = true;

    public async Task<ReadyResponse> CheckAsync(CancellationToken ct)
    {
        var notReady = new List<string>();
        var reconciled = _reconciled;
        if (!reconciled)
        {
            notReady.Add("the start-up reconciliation of the mount journal has not finished");
        }

        var cephProblem = await ceph.CheckAsync(ct);
        if (cephProblem is not null)
        {
            notReady.Add(cephProblem);
        }

        return new ReadyResponse(notReady.Count == 0 ? "ready" : "not ready", cephProblem is null, reconciled, notReady);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ReadyResponse))]
internal sealed partial class ObservabilityJsonContext : JsonSerializerContext;
