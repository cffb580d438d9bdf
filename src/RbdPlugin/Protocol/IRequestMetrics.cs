namespace RbdPlugin.Protocol;

/// <summary>
/// Takes the same facts as the request's one log line (verb, duration, failure kind), from the one place every
/// answer passes through. Optional: the protocol layer works without it.
/// </summary>
internal interface IRequestMetrics
{
    /// <param name="verb">The method name ("VolumeDriver.Mount"), or whatever an unknown endpoint was asked for.</param>
    /// <param name="elapsed">From the request's arrival to its answer.</param>
    /// <param name="errorKind">The <see cref="Failure.Kind"/> when the answer was an Err; null on success.</param>
    void Observe(string verb, TimeSpan elapsed, string? errorKind);
}
