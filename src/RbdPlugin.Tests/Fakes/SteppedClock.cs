namespace RbdPlugin.Tests.Fakes;

/// <summary>A wall clock that NTP can step (<see cref="Step"/>) over a monotonic one that keeps going evenly: the
/// fake clock's timestamps and timers, its UTC time plus the step.</summary>
internal sealed class SteppedClock(TimeProvider monotonic) : TimeProvider
{
    public TimeSpan Step { get; set; }

    public override DateTimeOffset GetUtcNow() => monotonic.GetUtcNow() + Step;

    public override long GetTimestamp() => monotonic.GetTimestamp();

    public override long TimestampFrequency => monotonic.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        monotonic.CreateTimer(callback, state, dueTime, period);
}
