using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;

/// <summary>
/// The subscriber side, in its own process: makes the SUBSCRIBEs (mail-event package, INBOX, so
/// bodies carry the sequence number and totals), answers every NOTIFY with 200 OK, and checks
/// order per dialog (CSeq and body sequence) and, at the end, the last state against the truth.
/// </summary>
internal static class Sink
{
    private sealed class Dialog
    {
        public int Account;
        public uint LastCSeq;
        public long LastSequence;
        public uint LastMessages;
        public uint LastUnseen;
        public long Notifies;
        public HashSet<uint> Seen { get; } = [];
    }

    private const string Body = "{\"mailbox\":\"INBOX\",\"depth\":\"1\"}";

    public static async Task<int> RunAsync(int pnaPort, int subs, int accounts)
    {
        var pna = new IPEndPoint(IPAddress.Loopback, pnaPort);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 8 << 20;
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var local = (IPEndPoint)socket.LocalEndPoint!;
        var dialogs = new Dictionary<string, Dialog>(StringComparer.Ordinal);
        long outOfOrderCSeq = 0, outOfOrderSequence = 0, duplicates = 0, lateRetransmissions = 0, total = 0, subscribed = 0;
        var buffer = new byte[65536];
        var stop = new CancellationTokenSource();

        var receiving = Task.Run(async () =>
        {
          try
          {
            var any = new IPEndPoint(IPAddress.Any, 0);
            while (!stop.IsCancellationRequested)
            {
                SocketReceiveFromResult r;
                try
                {
                    r = await socket.ReceiveFromAsync(buffer, any, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var message = SipMessageParser.ParseDatagram(buffer.AsSpan(0, r.ReceivedBytes));
                if (message is SipResponse response)
                {
                    if (response.StatusCode == 200 && response.CSeq.Method == SipMethods.Subscribe)
                    {
                        Interlocked.Increment(ref subscribed);
                    }
                    continue;
                }
                var notify = (SipRequest)message;
                var ok = new SipResponse(200);
                foreach (var h in notify.Headers)
                {
                    if (h.Name is SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.To or SipHeaderNames.CallId or SipHeaderNames.CSeq)
                    {
                        ok.Headers.Add(h.Name, h.RawValue);
                    }
                }
                await socket.SendToAsync(SipMessageWriter.ToBytes(ok), r.RemoteEndPoint);
                lock (dialogs)
                {
                    var d = dialogs[notify.CallId];
                    var cseq = notify.CSeq.Sequence;
                    total++;
                    if (cseq == d.LastCSeq)
                    {
                        duplicates++; // a retransmission
                        continue;
                    }
                    if (cseq < d.LastCSeq)
                    {
                        // A retransmission of one already received (sent before our 200 reached the PNA) is late, not out of order.
                        if (d.Seen.Contains(cseq))
                        {
                            lateRetransmissions++;
                        }
                        else
                        {
                            outOfOrderCSeq++;
                        }
                        continue;
                    }
                    d.Seen.Add(cseq);
                    d.LastCSeq = cseq;
                    d.Notifies++;
                    if (MailEventNotifyBody.TryDecode(notify.Body.Span, out var seq, out _, out var totals, out _))
                    {
                        if (seq < d.LastSequence)
                        {
                            outOfOrderSequence++;
                        }
                        d.LastSequence = Math.Max(d.LastSequence, seq);
                        if (totals is { } t)
                        {
                            (d.LastMessages, d.LastUnseen) = (t.Messages, t.Unseen);
                        }
                    }
                }
            }
          }
          catch (Exception e) when (e is not OperationCanceledException)
          {
              Console.Error.WriteLine("sink receive loop failed: " + e);
              throw;
          }
        });

        for (var i = 0; i < subs; i++)
        {
            var callId = "load-" + i.ToString(CultureInfo.InvariantCulture);
            var account = i % accounts;
            lock (dialogs)
            {
                dialogs[callId] = new Dialog { Account = account };
            }
            var text =
                $"SUBSCRIBE sip:user{account}@example.com SIP/2.0\r\n" +
                $"Via: SIP/2.0/UDP 127.0.0.1:{local.Port};branch=z9hG4bK{Guid.NewGuid():N};rport\r\n" +
                "Max-Forwards: 70\r\n" +
                $"From: <sip:sink@example.com>;tag=s{i}\r\n" +
                $"To: <sip:user{account}@example.com>\r\n" +
                $"Call-ID: {callId}\r\n" +
                "CSeq: 1 SUBSCRIBE\r\n" +
                $"Contact: <sip:sink@127.0.0.1:{local.Port}>\r\n" +
                "Event: mail-event\r\n" +
                "Expires: 3600\r\n" +
                "Content-Type: application/mail-event-filter+json\r\n" +
                $"Content-Length: {Body.Length}\r\n\r\n" + Body;
            await socket.SendToAsync(Encoding.UTF8.GetBytes(text), pna);
            if (i % 25 == 24)
            {
                // A window, so the PNA's socket buffer (about 100 datagrams by default) never overflows.
                while (Interlocked.Read(ref subscribed) < i - 25)
                {
                    await Task.Delay(1);
                }
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            lock (dialogs)
            {
                if (Interlocked.Read(ref subscribed) >= subs && dialogs.Values.All(d => d.Notifies > 0))
                {
                    break;
                }
            }
            await Task.Delay(10);
        }
        Console.WriteLine("READY");

        var finals = new Dictionary<int, (uint Messages, uint Unseen)>();
        while (await Console.In.ReadLineAsync() is { } line && line != "DONE")
        {
            var p = line.Split(' ');
            finals[int.Parse(p[1], CultureInfo.InvariantCulture)] = (uint.Parse(p[2], CultureInfo.InvariantCulture), uint.Parse(p[3], CultureInfo.InvariantCulture));
        }
        // NOTIFYs already on the way land within a moment of the PNA going quiet.
        await Task.Delay(500);
        await stop.CancelAsync();
        await receiving;
        long stale = 0;
        lock (dialogs)
        {
            foreach (var d in dialogs.Values)
            {
                if (finals.TryGetValue(d.Account, out var f) && (d.LastMessages, d.LastUnseen) != f)
                {
                    stale++;
                }
            }
        }
        Console.WriteLine($"received {total} NOTIFYs ({duplicates} retransmissions, {lateRetransmissions} late ones), out-of-order CSeq {outOfOrderCSeq}, out-of-order sequence {outOfOrderSequence}, stale final states {stale} of {subs}, subscribed {Interlocked.Read(ref subscribed)}, sink CPU per NOTIFY received {System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMicroseconds / Math.Max(1, total):0.0} µs (whole run)");
        return 0;
    }
}
