using Aggregators.MailWatch;

return await MailWatchApp.RunAsync(args, Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
