using System.Globalization;
using System.Text;

namespace Aggregators.Cna.Hosting;

/// <summary>One side's readiness (SIP, XMPP): ready or not, and a line saying why.</summary>
public sealed record CnaReadiness(bool Ready, string Detail);

/// <summary>A part of the CNA that reports into <c>/readyz</c> (register as a singleton; each side adds its own).</summary>
public interface ICnaReadinessCheck
{
    /// <summary>Short name shown in /readyz, e.g. "sip", "xmpp".</summary>
    string Name { get; }

    CnaReadiness Check();
}

/// <summary>One value for <c>/metrics</c> (Prometheus text format).</summary>
public sealed record CnaMetric(string Name, string Type, string Help, double Value);

/// <summary>A part of the CNA that reports into <c>/metrics</c>.</summary>
public interface ICnaMetricsSource
{
    IEnumerable<CnaMetric> Metrics();
}

/// <summary>Renders /readyz and /metrics from the registered checks and sources.</summary>
internal static class CnaStatusPages
{
    /// <summary>200 "ready" when every check is ready (or none is registered), else 503; one line per check.</summary>
    public static (int Status, string Text) Readiness(IEnumerable<ICnaReadinessCheck> checks)
    {
        var sb = new StringBuilder();
        var ready = true;
        foreach (var c in checks)
        {
            var r = c.Check();
            ready &= r.Ready;
            sb.Append(c.Name).Append(": ").Append(r.Ready ? "ready" : "not ready").Append(" (").Append(r.Detail).Append(")\n");
        }
        return (ready ? 200 : 503, (ready ? "ready\n" : "not ready\n") + sb);
    }

    public static string Metrics(IEnumerable<ICnaMetricsSource> sources)
    {
        var sb = new StringBuilder();
        foreach (var m in sources.SelectMany(s => s.Metrics()))
        {
            sb.Append("# HELP ").Append(m.Name).Append(' ').Append(m.Help).Append('\n');
            sb.Append("# TYPE ").Append(m.Name).Append(' ').Append(m.Type).Append('\n');
            sb.Append(m.Name).Append(' ').Append(m.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }
}
