namespace RbdPlugin.Volumes;

/// <summary>
/// The finished steps of a multi-step operation, undone in reverse when a later step fails. Undo continues past a
/// failing undo step: leaving the later steps in place (e.g. a mapping under a failed mount) is worse than trying.
/// </summary>
internal sealed partial class UndoStack(ILogger logger)
{
    private readonly Stack<(string Step, Func<Task> Undo)> _steps = new();

    public void Push(string step, Func<Task> undo) => _steps.Push((step, undo));

    /// <summary>Call when the operation succeeded: nothing will be undone.</summary>
    public void Commit() => _steps.Clear();

    public async Task RollbackAsync()
    {
        while (_steps.TryPop(out var step))
        {
            try
            {
                await step.Undo();
                LogUndone(step.Step);
            }
            catch (Exception e)
            {
                LogUndoFailed(e, step.Step);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Undid {Step}")]
    private partial void LogUndone(string step);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not undo {Step}; clean it up by hand")]
    private partial void LogUndoFailed(Exception e, string step);
}
