using RbdPlugin.Ceph;

namespace RbdPlugin.Tests.Ceph;

[Trait("Tier", "Fast")]
public sealed class CephExceptionTests
{
    [Theory]
    [InlineData(Errno.ETIMEDOUT, true)]
    [InlineData(Errno.EAGAIN, true)]
    [InlineData(Errno.ECONNREFUSED, true)]
    [InlineData(Errno.ECONNRESET, true)]
    [InlineData(Errno.ENOTCONN, true)]
    [InlineData(Errno.EINTR, true)]
    [InlineData(Errno.EBLOCKLISTED, false)]
    [InlineData(Errno.ENOENT, false)]
    [InlineData(Errno.EEXIST, false)]
    [InlineData(Errno.EBUSY, false)]
    [InlineData(Errno.EPERM, false)]
    [InlineData(Errno.EINVAL, false)]
    public void IsTransient_ByErrno(int errno, bool transient) =>
        Assert.Equal(transient, new CephException("op", errno).IsTransient);

    [Fact]
    public void Message_NamesTheOperationAndTheErrno()
    {
        var error = new CephException("rbd_create4 rbd/db1", Errno.EEXIST);

        Assert.Equal("rbd_create4 rbd/db1 failed: EEXIST (already exists)", error.Message);
    }
}
