namespace RbdPlugin.Volumes;

/// <summary>
/// The canonical creation options of a volume: defaults resolved, lists normalised, so that two creates with the
/// same meaning compare equal (idempotent Create) and a different meaning is a clear conflict.
/// </summary>
/// <param name="Features">Comma list of feature names, or null for the cluster's default features.</param>
/// <param name="ObjectSize">Object size in bytes, or null for the cluster default.</param>
/// <param name="MkfsOptions">Extra mkfs arguments, space separated ("" = none).</param>
/// <param name="MountOptions">Mount options, comma separated ("" = none).</param>
/// <param name="FromSnapshot">"SOURCE@SNAP" for a volume cloned from a snapshot, else null.</param>
/// <param name="Limits">The I/O limits it was created with, null for none (<c>volume limit</c> changes are in
/// <see cref="VolumeRecord.LimitedTo"/>).</param>
/// <param name="Encrypted">LUKS2 under the image (<c>-o encrypted=true</c>): its passphrase is wrapped in the image's
/// metadata (<see cref="WrappedPassphrase"/>); fixed at Create, inherited by clones.</param>
internal sealed record VolumeSpec(
    string Pool,
    ulong SizeBytes,
    string FsType,
    string? Features,
    ulong? ObjectSize,
    string? DataPool,
    string MkfsOptions,
    string MountOptions,
    string? FromSnapshot = null,
    IoLimits? Limits = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    bool Encrypted = false)
{
    /// <summary>Names the options in which <paramref name="other"/> differs from this spec, e.g. "size (10G here, 20G asked)".</summary>
    public IEnumerable<string> DifferencesFrom(VolumeSpec other)
    {
        if (Pool != other.Pool) yield return $"pool ({Pool} here, {other.Pool} asked)";
        if (SizeBytes != other.SizeBytes) yield return $"size ({ByteSize.Format(SizeBytes)} here, {ByteSize.Format(other.SizeBytes)} asked)";
        if (FsType != other.FsType) yield return $"fstype ({FsType} here, {other.FsType} asked)";
        if (Features != other.Features) yield return $"features ({Features ?? "default"} here, {other.Features ?? "default"} asked)";
        if (ObjectSize != other.ObjectSize) yield return $"object-size ({Show(ObjectSize)} here, {Show(other.ObjectSize)} asked)";
        if (DataPool != other.DataPool) yield return $"data-pool ({DataPool ?? "none"} here, {other.DataPool ?? "none"} asked)";
        if (MkfsOptions != other.MkfsOptions) yield return $"mkfs-options ('{MkfsOptions}' here, '{other.MkfsOptions}' asked)";
        if (MountOptions != other.MountOptions) yield return $"mount-options ('{MountOptions}' here, '{other.MountOptions}' asked)";
        if (FromSnapshot != other.FromSnapshot) yield return $"from-snapshot ({FromSnapshot ?? "none"} here, {other.FromSnapshot ?? "none"} asked)";
        if (Encrypted != other.Encrypted) yield return $"encrypted ({(Encrypted ? "true" : "false")} here, {(other.Encrypted ? "true" : "false")} asked)";
        if ((Limits ?? IoLimits.None) != (other.Limits ?? IoLimits.None)) yield return $"I/O limits ({Limits ?? IoLimits.None} here, {other.Limits ?? IoLimits.None} asked)";
    }

    private static string Show(ulong? size) => size is { } s ? ByteSize.Format(s) : "default";
}
