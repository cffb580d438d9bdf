using System.CommandLine;
using System.Text;
using System.Text.Json.Serialization;
using RbdPlugin.Hosting;
using RbdPlugin.Operations;
using RbdPlugin.Volumes;

namespace RbdPlugin.Cli;

/// <summary>
/// <c>rbd-plugin key generate FILE</c> (a new key-encryption key, mode 0600, never over an existing file) and
/// <c>rbd-plugin key rotate --new-key-file FILE</c> (every encrypted volume's passphrase rewrapped under it; exit 1
/// when any volume failed). See docs/encryption.md.
/// </summary>
internal static class KeyCommand
{
    public static Command Create()
    {
        var key = new Command("key", "Key-encryption keys of encrypted volumes (docs/encryption.md)");

        var generate = new Command("generate", "Write a new random key-encryption key to FILE (mode 0600; refuses an existing file)");
        var generateJson = new Option<bool>("--json") { Description = "Print JSON {path, kid}" };
        generate.Options.Add(generateJson);
        var path = CliCommand.Argument(generate, "FILE", "Where to write the key");
        generate.SetAction((parse, ct) => CliCommand.RunAsync(parse, generateJson, _ =>
            {
                var file = parse.GetValue(path)!;
                try
                {
                    return Task.FromResult(new KeyGenerated(file, KeyEncryptionKey.WriteNew(file)));
                }
                catch (IOException e)
                {
                    throw new VolumeException(VolumeErrorKind.Conflict, $"{file}: {e.Message} (a key file is never overwritten)", e);
                }
            },
            KeyCliJsonContext.Default.KeyGenerated, r => $"wrote key {r.Kid} to {r.Path}; set EncryptionKeyFile={r.Path} on every host that mounts encrypted volumes\n", ct));
        key.Subcommands.Add(generate);

        var rotate = CliCommand.Subcommand(key, "rotate", "Rewrap every encrypted volume's passphrase under the key in --new-key-file (idempotent); then install that file as EncryptionKeyFile on every host",
            out var rotateFlags, out var rotateJson, SnapshotCommand.DaemonKeys);
        var newKey = new Option<string>("--new-key-file") { Description = "The new key-encryption key file (rbd-plugin key generate)", Required = true };
        rotate.Options.Add(newKey);
        rotate.SetAction(async (parse, ct) =>
        {
            var json = parse.GetValue(rotateJson);
            KeyRotateResult? result = null;
            var code = await CliCommand.RunAsync(parse, rotateJson, async c =>
                result = await CliCommand.WithSessionAsync(parse, rotateFlags, json, (session, cc) => session.Get<KeyOperations>().RotateAsync(parse.GetValue(newKey)!, cc), c),
                KeyCliJsonContext.Default.KeyRotateResult, Format, ct);
            return code == ExitCodes.Ok && result is { AllDone: false } ? ExitCodes.Failure : code;
        });
        return key;
    }

    public static string Format(KeyRotateResult r)
    {
        var sb = new StringBuilder();
        foreach (var v in r.Volumes)
        {
            sb.Append(v.Result == KeyOperations.Failed ? $"{v.Name}: FAILED: {v.Error}\n" : $"{v.Name}: {v.Result}\n");
        }

        sb.Append($"{r.Volumes.Count(v => v.Result == KeyOperations.Rewrapped)} rewrapped, {r.Volumes.Count(v => v.Result == KeyOperations.Current)} already under key {r.NewKid}, {r.Volumes.Count(v => v.Result == KeyOperations.Failed)} failed\n");
        return sb.ToString();
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(KeyGenerated))]
[JsonSerializable(typeof(KeyRotateResult))]
internal sealed partial class KeyCliJsonContext : JsonSerializerContext;
