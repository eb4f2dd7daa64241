using System.Globalization;
using Aggregators.Cna.Hosting;
using Aggregators.Xmpp.Component;

namespace Aggregators.Cna.Xmpp;

/// <summary>The XMPP side in the CNA's /readyz (ready while the component is connected) and /metrics.</summary>
internal sealed class XmppProxyHealth(XmppProxy proxy) : ICnaReadinessCheck, ICnaMetricsSource
{
    public string Name => "xmpp";

    public CnaReadiness Check()
    {
        var status = proxy.Status;
        var ready = status.Component == ComponentState.Connected;
        var detail = ready
            ? string.Create(CultureInfo.InvariantCulture, $"component connected; {status.Upstreams} upstream ({status.StaleUpstreams} stale), {status.LocalSubscriptions} local subscriptions")
            : $"component {status.Component} ({status.ComponentReason})";
        return new CnaReadiness(ready, detail);
    }

    public IEnumerable<CnaMetric> Metrics()
    {
        var status = proxy.Status;
        yield return new CnaMetric("cna_xmpp_component_connected", "gauge", "1 while the XMPP component is connected", status.Component == ComponentState.Connected ? 1 : 0);
        yield return new CnaMetric("cna_xmpp_upstream_subscriptions", "gauge", "Upstream XMPP subscriptions", status.Upstreams);
        yield return new CnaMetric("cna_xmpp_upstream_stale", "gauge", "Upstream XMPP subscriptions currently stale", status.StaleUpstreams);
        yield return new CnaMetric("cna_xmpp_local_subscriptions", "gauge", "Local XMPP subscriptions", status.LocalSubscriptions);
    }
}
