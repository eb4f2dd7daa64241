using System.Diagnostics;
using Aggregators.MailWatch.Model;
using Microsoft.Extensions.Logging;

namespace Aggregators.MailWatch.Output;

/// <summary>
/// <c>--notify</c>: a desktop notification through <c>notify-send</c> (libnotify) for new mail.
/// Absent notify-send means no notifications (said once in the log), never a failure.
/// </summary>
internal sealed class DesktopNotifier
{
    private readonly string _command;
    private readonly ILogger _logger;

    private DesktopNotifier(string command, ILogger logger)
    {
        _command = command;
        _logger = logger;
    }

    /// <summary>The notifier, or null when notify-send is not on PATH.</summary>
    public static DesktopNotifier? Create(ILogger logger, string command = "notify-send")
    {
        var path = FindOnPath(command);
        if (path is null)
        {
            logger.LogWarning("--notify: {Command} is not on PATH; no desktop notifications", command);
            return null;
        }
        return new DesktopNotifier(path, logger);
    }

    internal static string? FindOnPath(string command)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(command) ? command : null;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public void NewMail(NewMail news)
    {
        ArgumentNullException.ThrowIfNull(news);
        var start = new ProcessStartInfo(_command) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("--app-name=mailwatch");
        start.ArgumentList.Add("--icon=mail-unread");
        start.ArgumentList.Add(news.Added == 1 ? $"New mail in {news.Mailbox}" : $"{news.Added} new mails in {news.Mailbox}");
        start.ArgumentList.Add($"{news.Unseen} unseen");
        try
        {
            using var process = Process.Start(start);
            process?.WaitForExit(2000);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            _logger.LogWarning("notify-send failed: {Reason}", ex.Message);
        }
    }
}
