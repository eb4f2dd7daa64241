using System.Globalization;
using Aggregators.MailWatch.Model;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Aggregators.MailWatch.Output;

/// <summary>
/// What the terminal shows (Spectre.Console): a status line — LIVE in green with the time of the
/// last update, or STALE in red with since when and why — and one row per mailbox with unseen
/// and total counts, the kind and time of their last update, and the IMAP STATUS counts when
/// they were checked. Stale counts are dimmed and marked "?": they may be wrong.
/// </summary>
internal static class StatusView
{
    public static IRenderable Render(string title, string source, WatchSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var stale = s.Status != WatchStatus.Live;
        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.Title = new TableTitle($"[bold]MailWatch[/] {Markup.Escape(title)}");
        table.Caption = new TableTitle($"[grey]{Markup.Escape(source)} · heartbeat {s.Heartbeat.TotalSeconds:0} s · Ctrl-C quits[/]");
        table.AddColumn("Mailbox");
        table.AddColumn(new TableColumn("Unseen").RightAligned());
        table.AddColumn(new TableColumn("Total").RightAligned());
        table.AddColumn("Updated");
        table.AddColumn("IMAP check");
        foreach (var m in s.Mailboxes)
        {
            var mark = stale ? "?" : "";
            var style = stale ? "grey" : m.Unseen > 0 ? "bold yellow" : "green";
            table.AddRow(
                new Markup(Markup.Escape(m.Mailbox)),
                new Markup(m.Notified ? $"[{style}]{m.Unseen}{mark}[/]" : "[grey]–[/]"),
                new Markup(m.Notified ? $"[{(stale ? "grey" : "default")}]{m.Messages}{mark}[/]" : "[grey]–[/]"),
                new Markup(m.Notified ? $"{Time(m.UpdatedAt)} [grey]{Kind(m.Kind)}[/]" : "[grey]never[/]"),
                new Markup(m.Imap is { } i
                    ? $"{i.Unseen} unseen / {i.Messages} at {Time(i.At)}" + (m.Notified && (i.Unseen != m.Unseen || i.Messages != m.Messages) ? " [red](differs)[/]" : "")
                    : "[grey]–[/]"));
        }
        if (s.Mailboxes.Count == 0)
        {
            table.AddRow(new Markup("[grey]no counts yet[/]"), Text.Empty, Text.Empty, Text.Empty, Text.Empty);
        }
        return new Rows(new Markup(StatusLine(s)), table);
    }

    public static string StatusLine(WatchSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var last = s.LastHeard is { } h ? $"last update {Time(h)} ({Ago(s.Now - h)} ago)" : "no update yet";
        return s.Status switch
        {
            WatchStatus.Live => $"[bold green]● LIVE[/]  {last}",
            WatchStatus.Stale => $"[bold white on red] STALE [/] [red]since {(s.StaleSince is { } since ? Time(since) : "?")}: {Markup.Escape(s.Reason ?? "")}[/]  {last}",
            _ => $"[bold yellow]… CONNECTING[/]  {Markup.Escape(s.Reason ?? "")}",
        };
    }

    /// <summary>The same as plain text, one line, for <c>--plain</c> and logs.</summary>
    public static string PlainLine(WatchSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var status = s.Status switch
        {
            WatchStatus.Live => "LIVE",
            WatchStatus.Stale => "STALE (" + s.Reason + ")",
            _ => "CONNECTING (" + s.Reason + ")",
        };
        var counts = string.Join("; ", s.Mailboxes.Select(m =>
            (m.Notified ? $"{m.Mailbox} {m.Unseen} unseen / {m.Messages}" : m.Mailbox + " ?")
            + (m.Imap is { } i ? $" [imap {i.Unseen} / {i.Messages}]" : "")));
        return $"{Time(s.Now)} {status} {counts}";
    }

    private static string Kind(UpdateKind kind) => kind switch
    {
        UpdateKind.Event => "event",
        UpdateKind.Heartbeat => "heartbeat",
        UpdateKind.Initial => "initial",
        _ => "current",
    };

    private static string Time(DateTimeOffset t) => t.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Ago(TimeSpan d) => d.TotalSeconds < 90 ? $"{Math.Max(0, d.TotalSeconds):0} s" : d.TotalMinutes < 90 ? $"{d.TotalMinutes:0} min" : $"{d.TotalHours:0} h";
}
