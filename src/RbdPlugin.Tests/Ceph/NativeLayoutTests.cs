using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RbdPlugin.Ceph.Native;

namespace RbdPlugin.Tests.Ceph;

/// <summary>
/// The managed mirrors of librbd's structs must match the C layout byte for byte, or librbd writes past them.
/// The numbers are what gcc reports for /usr/include/rbd/librbd.h on x86_64 (sizeof/offsetof).
/// </summary>
[Trait("Tier", "Fast")]
public sealed class NativeLayoutTests
{
    [Fact]
    public void RbdImageInfo_MatchesRbdImageInfoT()
    {
        Assert.Equal(160, Marshal.SizeOf<RbdImageInfo>());
        Assert.Equal(0, Offset<RbdImageInfo>(nameof(RbdImageInfo.Size)));
        Assert.Equal(8, Offset<RbdImageInfo>(nameof(RbdImageInfo.ObjSize)));
        Assert.Equal(16, Offset<RbdImageInfo>(nameof(RbdImageInfo.NumObjs)));
        Assert.Equal(24, Offset<RbdImageInfo>(nameof(RbdImageInfo.Order)));
        Assert.Equal(28, Offset<RbdImageInfo>(nameof(RbdImageInfo.BlockNamePrefix)));
        Assert.Equal(56, Offset<RbdImageInfo>(nameof(RbdImageInfo.ParentPool)));
        Assert.Equal(64, Offset<RbdImageInfo>(nameof(RbdImageInfo.ParentName)));
    }

    [Fact]
    public void RbdTrashImageInfo_MatchesRbdTrashImageInfoT()
    {
        Assert.Equal(40, Marshal.SizeOf<RbdTrashImageInfo>());
        Assert.Equal(0, Offset<RbdTrashImageInfo>(nameof(RbdTrashImageInfo.Id)));
        Assert.Equal(8, Offset<RbdTrashImageInfo>(nameof(RbdTrashImageInfo.Name)));
        Assert.Equal(16, Offset<RbdTrashImageInfo>(nameof(RbdTrashImageInfo.Source)));
        Assert.Equal(24, Offset<RbdTrashImageInfo>(nameof(RbdTrashImageInfo.DeletionTime)));
        Assert.Equal(32, Offset<RbdTrashImageInfo>(nameof(RbdTrashImageInfo.DefermentEndTime)));
    }

    [Fact]
    public void RbdImageWatcher_MatchesRbdImageWatcherT()
    {
        Assert.Equal(24, Marshal.SizeOf<RbdImageWatcher>());
        Assert.Equal(0, Offset<RbdImageWatcher>(nameof(RbdImageWatcher.Addr)));
        Assert.Equal(8, Offset<RbdImageWatcher>(nameof(RbdImageWatcher.Id)));
        Assert.Equal(16, Offset<RbdImageWatcher>(nameof(RbdImageWatcher.Cookie)));
    }

    [Fact]
    public void ManagedSizeOf_EqualsMarshalSizeOf_SoPointersIntoArraysStepRight()
    {
        // librbd fills arrays through a pointer: the managed element stride must be the C one too.
        Assert.Equal(Marshal.SizeOf<RbdImageInfo>(), Unsafe.SizeOf<RbdImageInfo>());
        Assert.Equal(Marshal.SizeOf<RbdTrashImageInfo>(), Unsafe.SizeOf<RbdTrashImageInfo>());
        Assert.Equal(Marshal.SizeOf<RbdImageWatcher>(), Unsafe.SizeOf<RbdImageWatcher>());
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
