using System.Text.Json.Serialization.Metadata;
using RbdPlugin.Volumes;

namespace RbdPlugin.Operations;

/// <summary>
/// The runbook CLI's client for a daemon's admin socket (<see cref="AdminRoutes"/>). A failure comes back as
/// the <see cref="VolumeException"/> the daemon raised; no daemon answering is <see cref="VolumeErrorKind.Unavailable"/>
/// with the checks to make.
/// </summary>
internal sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(string socketPath, TimeSpan timeout)
    {
        SocketPath = socketPath;
        _http = UnixSocketHttpClient.Create(socketPath, timeout);
    }

    public string SocketPath { get; }

    /// <summary>True when a daemon answers /healthz on the socket.</summary>
    public async Task<bool> IsServingAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(AdminRoutes.Health, UriKind.Relative), ct);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>POSTs <paramref name="request"/> to <c>/admin/v1/PATH</c> and reads the answer.</summary>
    public async Task<TResponse> PostAsync<TRequest, TResponse>(string path, TRequest request, JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsJsonAsync(new Uri(AdminRoutes.Prefix + "/" + path, UriKind.Relative), request, requestType, ct);
        }
        catch (HttpRequestException e)
        {
            throw new VolumeException(VolumeErrorKind.Unavailable,
                $"no rbd-plugin daemon answers on its admin socket {SocketPath} ({e.Message}); is `rbd-plugin serve` running on this host " +
                "with the same StateDir/AdminSocket setting?", e);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return (await response.Content.ReadFromJsonAsync(responseType, ct))!;
            }

            var error = await response.Content.ReadFromJsonAsync(AdminJsonContext.Default.AdminError, ct);
            var kind = Enum.TryParse<VolumeErrorKind>(error?.Kind, out var k) ? k : VolumeErrorKind.Unavailable;
            throw new VolumeException(kind, error?.Error ?? $"the daemon answered {(int)response.StatusCode} on {path}");
        }
    }

    public void Dispose() => _http.Dispose();
}
