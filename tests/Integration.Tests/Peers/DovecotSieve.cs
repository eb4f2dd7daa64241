namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Sieve at delivery for <see cref="DovecotServer"/> (testbed notes, Pigeonhole): <paramref name="Script"/>
/// becomes juliet's active script (~/.dovecot.sieve), each of <paramref name="Programs"/> (name → shell
/// script text) an executable in the sieve_execute_bin_dir, with extprograms' vnd.dovecot.execute on.
/// Mail processes run as uid 65534: the home and the bin dir are made accessible to it.
/// </summary>
public sealed record DovecotSieve(string Script, IReadOnlyDictionary<string, string> Programs)
{
    public static string BinDirectory(string dovecotDirectory) => Path.Combine(dovecotDirectory, "sieve-bin");

    internal string Settings(string dovecotDirectory) =>
        "  sieve = file:~/sieve;active=~/.dovecot.sieve\n" +
        "  sieve_plugins = sieve_extprograms\n" +
        "  sieve_extensions = +vnd.dovecot.execute\n" +
        $"  sieve_execute_bin_dir = {BinDirectory(dovecotDirectory)}\n";

    internal void Install(string dovecotDirectory)
    {
        var home = Path.Combine(dovecotDirectory, "mail", DovecotServer.Juliet.User);
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, (UnixFileMode)0x1FF); // 0777: uid 65534 writes Maildir and the .svbin here
        File.WriteAllText(Path.Combine(home, ".dovecot.sieve"), Script);
        var bin = BinDirectory(dovecotDirectory);
        Directory.CreateDirectory(bin);
        File.SetUnixFileMode(bin, (UnixFileMode)0x1ED); // 0755
        foreach (var (name, text) in Programs)
        {
            var path = Path.Combine(bin, name);
            File.WriteAllText(path, text.ReplaceLineEndings("\n"));
            File.SetUnixFileMode(path, (UnixFileMode)0x1ED);
        }
    }
}
