using System.Globalization;
using System.Net;
using System.Text;

namespace Aggregators.Pna.Operations.Status;

/// <summary>
/// Renders <see cref="PnaStatus"/> as one self-contained HTML page: inline CSS, the rate chart as
/// inline SVG, no script and no external asset; it reloads itself every 10 seconds. Every value
/// from outside (account names, subscriber URIs, error messages) is HTML-encoded.
/// </summary>
public static class StatusPage
{
    public const int RefreshSeconds = 10;

    public static string Render(PnaStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var html = new StringBuilder(16 * 1024);
        var verdict = Verdict(status);
        html.Append(CultureInfo.InvariantCulture, $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="{{RefreshSeconds}}">
            <title>PNA status: {{E(verdict.Text)}}</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
            header{padding:14px 24px;color:#fff} header h1{margin:0;font-size:20px} header p{margin:4px 0 0}
            .ok{background:#1f7a4d} .warn{background:#a86b00} .bad{background:#b42318}
            main{padding:8px 24px 24px;display:grid;grid-template-columns:1fr 1fr;gap:16px}
            section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
            section.wide{grid-column:1 / -1} h2{font-size:15px;margin:0 0 8px}
            table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:3px 8px 3px 0;border-bottom:1px solid #eee;vertical-align:top}
            th{font-weight:600;color:#555} .n{text-align:right;font-variant-numeric:tabular-nums}
            .badge{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}
            .muted{color:#777} .err{color:#b42318} code{font-size:12px}
            </style></head><body>
            <header class="{{verdict.Css}}"><h1>{{E(verdict.Text)}}</h1><p>{{E(verdict.Detail)}}</p></header>
            <main>
            """);
        Accounts(html, status);
        Subscriptions(html, status);
        Rates(html, status.Rates);
        Errors(html, status);
        html.Append(CultureInfo.InvariantCulture,
            $"""</main><p class="muted" style="padding:0 24px 16px">Generated {Time(status.GeneratedAt)}; up since {Time(status.StartedAt)}; JSON: <a href="/v1/status">/v1/status</a>; reloads every {RefreshSeconds} s.</p></body></html>""");
        return html.ToString();
    }

    /// <summary>The one-line answer to "is it working, and for whom?".</summary>
    public static (string Css, string Text, string Detail) Verdict(PnaStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var watchers = status.Accounts.SelectMany(a => a.Watchers).ToArray();
        var watching = watchers.Count(w => w.State == "Watching");
        var subscriptions = status.Transports.Sum(t => t.Active);
        var late = status.Transports.Sum(t => t.HeartbeatsLate);
        var detail = $"{status.Accounts.Count} account(s)" +
            (status.BridgeEnabled ? $", {watching} of {watchers.Length} watched by the bridge" : ", bridge not co-hosted") +
            $", {subscriptions} subscription(s)" +
            (status.Transports.Count > 0 ? " (" + string.Join(", ", status.Transports.Select(t => $"{t.Transport} {t.Active}")) + ")" : "") +
            $", {status.Rates.Events.Sum()} event(s) and {status.Rates.Notifications.Sum()} notification(s) in the last {status.Rates.Events.Count * status.Rates.BucketSeconds / 60} min";
        if (!status.Ready)
        {
            var why = status.NotReadyReasons.Count > 0 ? string.Join("; ", status.NotReadyReasons) : "the store or the dispatcher is not running, or the PNA is shutting down";
            return ("bad", "Not ready", $"{why}. {detail}");
        }
        if (watching < watchers.Length || late > 0)
        {
            var problems = new List<string>();
            if (watching < watchers.Length)
            {
                problems.Add($"{watchers.Length - watching} account(s) not watched");
            }
            if (late > 0)
            {
                problems.Add($"{late} heartbeat(s) late");
            }
            return ("warn", "Working, with problems: " + string.Join(", ", problems), detail);
        }
        return ("ok", "Working", detail);
    }

    private static void Accounts(StringBuilder html, PnaStatus status)
    {
        html.Append("""<section class="wide"><h2>Accounts</h2>""");
        if (status.Accounts.Count == 0)
        {
            html.Append("""<p class="muted">No account yet: no event has arrived and the bridge watches nobody.</p></section>""");
            return;
        }
        html.Append("""<table><tr><th>account</th><th>bridge</th><th>mailboxes (messages / unseen)</th><th class="n">subs</th><th>last error</th></tr>""");
        foreach (var a in status.Accounts)
        {
            html.Append("<tr><td>").Append(E(a.Account)).Append("</td><td>");
            if (a.Watchers.Count == 0)
            {
                html.Append("""<span class="muted">not watched here</span>""");
            }
            foreach (var w in a.Watchers)
            {
                html.Append(CultureInfo.InvariantCulture, $"""<span class="badge" style="background:{StateColour(w.State)}">{E(w.State)}</span> """)
                    .Append(E(w.Notify ? "NOTIFY+IDLE" : "IDLE+polling"))
                    .Append(CultureInfo.InvariantCulture, $""" <span class="muted">on {E(w.Server)}{(w.WatchingSince is { } since ? ", since " + Time(since) : "")}, {w.EventsDelivered} events</span>""");
                if (w.Discovery.Count > 0)
                {
                    html.Append("<br><code>").Append(E(string.Join(' ', w.Discovery))).Append("</code>");
                }
            }
            html.Append("</td><td>");
            html.Append(string.Join("<br>", a.Mailboxes.Select(m =>
                $"{E(m.Mailbox)}: {(m.Messages is null ? "?" : m.Messages.Value.ToString(CultureInfo.InvariantCulture))} / <b>{(m.Unseen is null ? "?" : m.Unseen.Value.ToString(CultureInfo.InvariantCulture))}</b>" +
                (m.LastEvent is null ? "" : $" <span class=\"muted\">{E(m.LastEvent)}{(m.LastEventTime is { } t ? " " + Time(t) : "")}</span>"))));
            html.Append(CultureInfo.InvariantCulture, $"""</td><td class="n">{a.Subscriptions}</td><td>""");
            foreach (var w in a.Watchers.Where(w => w.LastError is not null))
            {
                html.Append("""<span class="err">""").Append(E(w.LastError!)).Append("</span> <span class=\"muted\">")
                    .Append(w.LastErrorAt is { } at ? Time(at) : "").Append("</span>");
            }
            html.Append("</td></tr>");
        }
        html.Append("</table></section>");
    }

    private static void Subscriptions(StringBuilder html, PnaStatus status)
    {
        html.Append("<section><h2>Subscriptions</h2>");
        if (status.Transports.Count == 0)
        {
            html.Append("""<p class="muted">No subscription.</p></section>""");
            return;
        }
        html.Append("""<table><tr><th>transport</th><th class="n">active</th><th class="n">heartbeats ok</th><th class="n">late</th></tr>""");
        foreach (var t in status.Transports)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"""<tr><td>{E(t.Transport)}</td><td class="n">{t.Active}</td><td class="n">{t.HeartbeatsOk}</td><td class="n{(t.HeartbeatsLate > 0 ? " err" : "")}">{t.HeartbeatsLate}</td></tr>""");
        }
        html.Append("""</table><table style="margin-top:8px"><tr><th>subscriber</th><th>resource</th><th>heartbeat</th><th class="n">last sent</th></tr>""");
        foreach (var s in status.Transports.SelectMany(t => t.Subscriptions).Take(100))
        {
            html.Append(CultureInfo.InvariantCulture,
                $"""<tr><td>{E(s.Subscriber)}</td><td>{E(s.Account)}/{E(s.Mailbox)}{(s.Depth == "infinity" ? "/…" : "")}</td><td>{E(s.Heartbeat)}{(s.HeartbeatSeconds is { } h ? $" ({h:0} s)" : "")}</td><td class="n">{(s.LastNotifiedSecondsAgo is { } ago ? $"{ago:0} s ago" : "never")}</td></tr>""");
        }
        html.Append("</table></section>");
    }

    private static void Rates(StringBuilder html, RateSeries rates)
    {
        const int width = 560, height = 140, left = 36, bottom = 18;
        var max = Math.Max(1, Math.Max(rates.Events.DefaultIfEmpty().Max(), rates.Notifications.DefaultIfEmpty().Max()));
        var n = rates.Events.Count;
        var step = (width - left) / (double)Math.Max(1, n);
        html.Append(CultureInfo.InvariantCulture,
            $"""<section><h2>Events and notifications per {rates.BucketSeconds} s, last {n * rates.BucketSeconds / 60} min</h2>""");
        html.Append(CultureInfo.InvariantCulture,
            $"""<svg role="img" aria-label="rate chart" width="100%" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">""");
        html.Append(CultureInfo.InvariantCulture,
            $"""<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#999"/><text x="{left - 4}" y="12" font-size="10" text-anchor="end">{max}</text><text x="{left - 4}" y="{height - bottom}" font-size="10" text-anchor="end">0</text>""");
        html.Append(CultureInfo.InvariantCulture, $"""<text x="{left}" y="{height - 4}" font-size="10">-{n * rates.BucketSeconds / 60} min</text><text x="{width}" y="{height - 4}" font-size="10" text-anchor="end">now</text>""");
        Bars(html, rates.Events, "#2f6fde", 0);
        Bars(html, rates.Notifications, "#e07b00", 1);
        html.Append("</svg>");
        html.Append(CultureInfo.InvariantCulture,
            $"""<p><span style="color:#2f6fde">■</span> events accepted: {rates.Events.Sum()} &nbsp; <span style="color:#e07b00">■</span> notifications sent: {rates.Notifications.Sum()}</p></section>""");

        void Bars(StringBuilder h, IReadOnlyList<long> values, string colour, int offset)
        {
            var barWidth = Math.Max(1, step / 2 - 0.5);
            for (var i = 0; i < values.Count; i++)
            {
                if (values[i] == 0)
                {
                    continue;
                }
                var barHeight = (height - bottom - 14) * values[i] / (double)max;
                h.Append(CultureInfo.InvariantCulture,
                    $"""<rect x="{left + i * step + offset * step / 2:0.##}" y="{height - bottom - barHeight:0.##}" width="{barWidth:0.##}" height="{barHeight:0.##}" fill="{colour}"><title>{values[i]}</title></rect>""");
            }
        }
    }

    private static void Errors(StringBuilder html, PnaStatus status)
    {
        html.Append("""<section class="wide"><h2>Recent warnings and errors</h2>""");
        if (status.Errors.Count == 0)
        {
            html.Append("""<p class="muted">None since the start.</p></section>""");
            return;
        }
        html.Append("<table><tr><th>time</th><th>level</th><th>source</th><th>message</th></tr>");
        foreach (var e in status.Errors.Reverse().Take(20))
        {
            html.Append(CultureInfo.InvariantCulture,
                $"""<tr><td>{Time(e.At)}</td><td class="{(e.Level is "Error" or "Critical" ? "err" : "")}">{E(e.Level)}</td><td><code>{E(e.Source)}</code></td><td>{E(e.Message)}</td></tr>""");
        }
        html.Append("</table></section>");
    }

    private static string StateColour(string state) => state switch
    {
        "Watching" => "#1f7a4d",
        "Connecting" or "Resyncing" => "#2f6fde",
        "BackingOff" => "#a86b00",
        _ => "#b42318",
    };

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
