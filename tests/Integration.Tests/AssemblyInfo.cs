using System.Runtime.Versioning;

// Real peers are Debian packages run as plain processes: these tests are Linux-only by design.
[assembly: SupportedOSPlatform("linux")]

// Each peer fixture owns fixed ports and processes; test classes may run in parallel, tests in
// one class do not.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass, MaxParallelThreads = 2)]
