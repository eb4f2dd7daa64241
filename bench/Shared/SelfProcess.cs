using System.Diagnostics;

namespace Aggregators.Bench;

/// <summary>
/// Starting this load generator again as a child process (a sink, a server, a PNA or CNA in its own
/// process), whether it runs as <c>dotnet X.dll</c> or as its apphost (<c>dotnet run</c>, or
/// <c>bin/…/X</c>): under <c>dotnet</c> the child needs the assembly path first, under the apphost it
/// must not get it (the child would see the path as its first argument and start the main program
/// again, which then starts another child, and so on).
/// </summary>
internal static class SelfProcess
{
    public static ProcessStartInfo StartInfo(params IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(SelfProcess).Assembly.Location);
        }
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }
        return info;
    }
}
