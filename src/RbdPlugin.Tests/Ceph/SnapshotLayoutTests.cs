using System.Runtime.InteropServices;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Tests.Ceph;

/// <summary>rbd_snap_info_t and struct timespec as librbd writes them on LP64 (sizeof/offsetof from gcc).</summary>
[Trait("Tier", "Fast")]
public sealed class SnapshotLayoutTests
{
    [Fact]
    public void RbdSnapInfo_And_TimeSpec_MatchTheCLayout()
    {
        Assert.Equal(24, Marshal.SizeOf<RbdSnapInfo>());
        Assert.Equal(8, (int)Marshal.OffsetOf<RbdSnapInfo>(nameof(RbdSnapInfo.Size)));
        Assert.Equal(16, (int)Marshal.OffsetOf<RbdSnapInfo>(nameof(RbdSnapInfo.Name)));
        Assert.Equal(16, Marshal.SizeOf<TimeSpec>());
        Assert.Equal(8, (int)Marshal.OffsetOf<TimeSpec>(nameof(TimeSpec.Nanoseconds)));
    }
}
