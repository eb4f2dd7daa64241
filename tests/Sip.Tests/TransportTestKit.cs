using System.Net;
using System.Threading.Channels;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>What the transport tests share: a NOTIFY from RFC 3842's example, the 200 that answers a request, the next received message.</summary>
internal static class TransportTestKit
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    public static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    public static SipRequest Notify(int cseq = 20)
    {
        var m = (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.NotifyMwi, Rfc3261ExampleTests.MwiBody));
        m.CSeq = new SipCSeq((uint)cseq, SipMethods.Notify);
        return m;
    }

    /// <summary>A 200 with the request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2).</summary>
    public static SipResponse OkFor(SipRequest request)
    {
        var r = new SipResponse(200);
        foreach (var h in request.Headers)
            if (h.Name is SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.To or SipHeaderNames.CallId or SipHeaderNames.CSeq)
                r.Headers.Add(h.Name, h.RawValue);
        return r;
    }

    public static async Task<SipReceivedMessage> Next(Channel<SipReceivedMessage> inbox) =>
        await inbox.Reader.ReadAsync().AsTask().WaitAsync(Wait);
}
