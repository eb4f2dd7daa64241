namespace Aggregators.Cna.Hosting;

/// <summary>The CNA's configuration, bound from the "Cna" section (docs/cna.md).</summary>
public sealed class CnaOptions
{
    public const string SectionName = "Cna";

    /// <summary>Where the CNA keeps its state (SQLite); created if missing.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirectoryFullPath => Path.GetFullPath(DataDirectory);
}
