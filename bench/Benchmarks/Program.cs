using BenchmarkDotNet.Running;

namespace Aggregators.Benchmarks;

internal static class BenchmarkProgram
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == RegistryMemory.Switch)
        {
            return RegistryMemory.Run(args);
        }
        BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
        return 0;
    }
}
