using Microsoft.Extensions.Logging;

namespace Aggregators.MailWatch.Sources;

/// <summary>Placeholder until the SIP subscriber lands (step 3).</summary>
internal sealed class SipMailSource(MailWatchOptions options, string pna, ILogger logger) : IMailSource
{
    public string Description => $"sip {pna}";

    public Task<IMailSession> OpenAsync(IUpdateSink sink, bool subscribe, CancellationToken cancellationToken)
    {
        logger.LogWarning("SIP not implemented yet for {Address}", options.Address);
        throw new SourceException("the SIP transport is not built yet", null, permanent: true);
    }
}
