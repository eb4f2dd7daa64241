using Aggregators.Pna.Hosting;

await PnaApplication.Build(args).RunAsync().ConfigureAwait(false);
