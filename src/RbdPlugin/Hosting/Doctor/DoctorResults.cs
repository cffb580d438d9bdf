namespace RbdPlugin.Hosting;

/// <summary>
/// One check of <c>rbd-plugin doctor</c>. <see cref="Detail"/> says what was found; <see cref="Fix"/> what to do when
/// it failed, or, on a check that passed, advice (a warning: it works, but likely not as meant); null when neither.
/// The JSON is an array of these (docs/runbook.md; CliJsonSchemaTests pin it).
/// </summary>
internal sealed record DoctorCheck(string Name, bool Ok, string Detail, string? Fix)
{
    public static DoctorCheck Pass(string name, string detail) => new(name, true, detail, null);

    /// <summary>Passed, with advice: does not fail doctor (exit 0), printed as WARN.</summary>
    public static DoctorCheck Warn(string name, string detail, string advice) => new(name, true, detail, advice);

    public static DoctorCheck Fail(string name, string detail, string fix) => new(name, false, detail, fix);
}
