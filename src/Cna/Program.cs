using Aggregators.Cna.Hosting;

await CnaApplication.Build(args).RunAsync().ConfigureAwait(false);
