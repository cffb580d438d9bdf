namespace RbdPlugin.Hosting;

/// <summary>
/// One check of <c>rbd-plugin doctor</c>. <see cref="Detail"/> says what was found; <see cref="Fix"/> what to do when
/// it failed (null when OK). The JSON is an array of these (docs/runbook.md; CliJsonSchemaTests pin it).
/// </summary>
internal sealed record DoctorCheck(string Name, bool Ok, string Detail, string? Fix)
{
    public static DoctorCheck Pass(string name, string detail) => new(name, true, detail, null);

    public static DoctorCheck Fail(string name, string detail, string fix) => new(name, false, detail, fix);
}
