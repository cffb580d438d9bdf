namespace RbdPlugin.Volumes;

/// <summary>
/// The beat of one lease's renewal thread. On the system clock it waits on the renewal thread itself, with
/// monotonic deadlines: no timer callback has to get a thread-pool thread first (blocking native calls may have
/// starved the pool), and an NTP step can neither stretch nor cut the wait. Any other clock (the tests' fake one)
/// drives it through that clock's own timer, created when the lease is taken, so advancing the clock renews.
/// </summary>
internal abstract class RenewalTicker : IDisposable
{
    public static RenewalTicker Create(TimeProvider time, TimeSpan interval) =>
        ReferenceEquals(time, TimeProvider.System) ? new Monotonic(time, interval) : new Timed(time, interval);

    /// <summary>Waits for the next beat; false when <paramref name="stop"/> was set first.</summary>
    public abstract bool WaitNext(WaitHandle stop);

    public abstract void Dispose();

    private sealed class Monotonic(TimeProvider time, TimeSpan interval) : RenewalTicker
    {
        private long _next = time.GetTimestamp();

        public override bool WaitNext(WaitHandle stop)
        {
            _next += (long)(interval.TotalSeconds * time.TimestampFrequency);
            var left = TimeSpan.FromSeconds((double)(_next - time.GetTimestamp()) / time.TimestampFrequency);
            if (left <= TimeSpan.Zero)
            {
                // Behind (the last renewal took longer than a beat): renew now and beat from here on.
                _next = time.GetTimestamp();
                return !stop.WaitOne(0);
            }

            return !stop.WaitOne(left);
        }

        public override void Dispose()
        {
            // Nothing to release: it only waits on the stop handle.
        }
    }

    private sealed class Timed : RenewalTicker
    {
        private readonly AutoResetEvent _beat = new(false);
        private readonly ITimer _timer;

        public Timed(TimeProvider time, TimeSpan interval) => _timer = time.CreateTimer(_ => _beat.Set(), null, interval, interval);

        public override bool WaitNext(WaitHandle stop) => WaitHandle.WaitAny([stop, _beat]) == 1;

        public override void Dispose()
        {
            _timer.Dispose();
            _beat.Dispose();
        }
    }
}
