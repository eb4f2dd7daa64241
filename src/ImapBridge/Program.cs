using Aggregators.ImapBridge.Hosting;

// The standalone IMAP bridge: watches IMAP accounts and delivers RFC 5423 events to a PNA over HTTP.
await BridgeHost.Build(args).RunAsync().ConfigureAwait(false);
