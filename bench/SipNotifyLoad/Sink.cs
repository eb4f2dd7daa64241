using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// The subscriber side, in its own process: makes the SUBSCRIBEs (mail-event package, INBOX, so
/// bodies carry the sequence number and totals), answers every NOTIFY with 200 OK, and checks
/// order per dialog (CSeq and body sequence) and, at the end, the last state against the truth.
/// It must cost little CPU, since it shares the machine with the PNA it measures: dialogs are
/// spread over <see cref="Sockets"/> sockets, each read by its own thread with blocking receives
/// (no async machinery, no thread hops); a NOTIFY is not parsed but scanned: the 200 copies its
/// Via, From, To, Call-ID and CSeq lines byte for byte (RFC 3261 §8.2.6.2), and the checks read
/// the CSeq number and the body's "sequence" and "totals" members.
/// </summary>
internal static class Sink
{
    private const int Sockets = 2;

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

    /// <summary>One socket and its receive thread's counters (read by others only after it stopped).</summary>
    private sealed class Lane
    {
        public required Socket Socket;
        public long OutOfOrderCSeq, OutOfOrderSequence, Duplicates, LateRetransmissions, Total, Unparsed;
    }

    private const string Body = "{\"mailbox\":\"INBOX\",\"depth\":\"1\"}";

    private static long s_subscribed;
    private static volatile bool s_stop;

    public static async Task<int> RunAsync(int pnaPort, int subs, int accounts)
    {
        var pna = new IPEndPoint(IPAddress.Loopback, pnaPort);
        var dialogs = new Dialog[subs];
        var lanes = new Lane[Sockets];
        var threads = new Thread[Sockets];
        for (var l = 0; l < Sockets; l++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20, ReceiveTimeout = 200 };
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            lanes[l] = new Lane { Socket = socket };
            var lane = lanes[l];
            threads[l] = new Thread(() => ReceiveLoop(lane, dialogs)) { IsBackground = true, Name = "sink-" + l.ToString(CultureInfo.InvariantCulture) };
        }
        for (var i = 0; i < subs; i++)
        {
            dialogs[i] = new Dialog { Account = i % accounts };
        }
        foreach (var t in threads)
        {
            t.Start();
        }

        for (var i = 0; i < subs; i++)
        {
            var socket = lanes[i % Sockets].Socket;
            var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            var account = dialogs[i].Account;
            var text =
                $"SUBSCRIBE sip:user{account}@example.com SIP/2.0\r\n" +
                $"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{Guid.NewGuid():N};rport\r\n" +
                "Max-Forwards: 70\r\n" +
                $"From: <sip:sink@example.com>;tag=s{i}\r\n" +
                $"To: <sip:user{account}@example.com>\r\n" +
                $"Call-ID: load-{i}\r\n" +
                "CSeq: 1 SUBSCRIBE\r\n" +
                $"Contact: <sip:sink@127.0.0.1:{port}>\r\n" +
                "Event: mail-event\r\n" +
                "Expires: 3600\r\n" +
                "Content-Type: application/mail-event-filter+json\r\n" +
                $"Content-Length: {Body.Length}\r\n\r\n" + Body;
            socket.SendTo(Encoding.UTF8.GetBytes(text), pna);
            if (i % 25 == 24)
            {
                // A window, so the PNA's socket buffer (about 100 datagrams by default) never overflows.
                while (Interlocked.Read(ref s_subscribed) < i - 25)
                {
                    await Task.Delay(1);
                }
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !(Interlocked.Read(ref s_subscribed) >= subs && dialogs.All(d => Volatile.Read(ref d.Notifies) > 0)))
        {
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
        s_stop = true;
        foreach (var t in threads)
        {
            t.Join();
        }
        var stale = dialogs.Count(d => finals.TryGetValue(d.Account, out var f) && (d.LastMessages, d.LastUnseen) != f);
        var total = lanes.Sum(l => l.Total);
        Console.WriteLine($"received {total} NOTIFYs ({lanes.Sum(l => l.Duplicates)} retransmissions, {lanes.Sum(l => l.LateRetransmissions)} late ones), " +
            $"out-of-order CSeq {lanes.Sum(l => l.OutOfOrderCSeq)}, out-of-order sequence {lanes.Sum(l => l.OutOfOrderSequence)}, " +
            $"stale final states {stale} of {subs}, subscribed {Interlocked.Read(ref s_subscribed)}, unreadable {lanes.Sum(l => l.Unparsed)}, " +
            $"sink CPU per NOTIFY received {System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMicroseconds / Math.Max(1, total):0.0} µs (whole run)");
        foreach (var l in lanes)
        {
            l.Socket.Dispose();
        }
        return 0;
    }

    private static void ReceiveLoop(Lane lane, Dialog[] dialogs)
    {
        var socket = lane.Socket;
        var buffer = new byte[65536];
        var answer = new byte[4096];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!s_stop)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset)
            {
                continue;
            }
            var message = buffer.AsSpan(0, received);
            if (message.StartsWith("SIP/2.0 "u8))
            {
                // A response: only the 200s to our SUBSCRIBEs are counted.
                if (message.StartsWith("SIP/2.0 200"u8) && HeaderValue(message, "CSeq: "u8).EndsWith(" SUBSCRIBE"u8))
                {
                    Interlocked.Increment(ref s_subscribed);
                }
                continue;
            }
            if (!message.StartsWith("NOTIFY "u8) || Answer(message, answer) is not { } length || !TryDialog(message, dialogs.Length, out var index)
                || !Utf8Parser.TryParse(HeaderValue(message, "CSeq: "u8), out uint cseq, out _))
            {
                lane.Unparsed++;
                continue;
            }
            socket.SendTo(answer.AsSpan(0, length), SocketFlags.None, from);
            Check(lane, dialogs[index], cseq, message);
        }
    }

    /// <summary>The 200 OK: the status line, the NOTIFY's Via, From, To, Call-ID and CSeq lines as they were, no body.</summary>
    private static int? Answer(ReadOnlySpan<byte> notify, Span<byte> answer)
    {
        var n = Append(answer, 0, "SIP/2.0 200 OK\r\n"u8);
        var rest = notify;
        var end = notify.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }
        rest = notify[..(end + 2)];
        var first = rest.IndexOf("\r\n"u8);
        rest = rest[(first + 2)..];
        while (!rest.IsEmpty)
        {
            var eol = rest.IndexOf("\r\n"u8);
            var line = rest[..(eol + 2)];
            if (line.StartsWith("Via: "u8) || line.StartsWith("From: "u8) || line.StartsWith("To: "u8) || line.StartsWith("Call-ID: "u8) || line.StartsWith("CSeq: "u8))
            {
                if (n + line.Length > answer.Length - 32)
                {
                    return null;
                }
                n = Append(answer, n, line);
            }
            rest = rest[(eol + 2)..];
        }
        return Append(answer, n, "Content-Length: 0\r\n\r\n"u8);
    }

    private static int Append(Span<byte> to, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(to[at..]);
        return at + bytes.Length;
    }

    /// <summary>The value of the first header line starting with <paramref name="prefix"/> (full names: the PNA writes no compact forms).</summary>
    private static ReadOnlySpan<byte> HeaderValue(ReadOnlySpan<byte> message, ReadOnlySpan<byte> prefix)
    {
        Span<byte> needle = stackalloc byte[prefix.Length + 2];
        "\r\n"u8.CopyTo(needle);
        prefix.CopyTo(needle[2..]);
        var at = message.IndexOf(needle);
        if (at < 0)
        {
            return default;
        }
        var value = message[(at + needle.Length)..];
        var eol = value.IndexOf("\r\n"u8);
        return eol < 0 ? default : value[..eol];
    }

    /// <summary>The dialog index from the Call-ID "load-N" the sink chose.</summary>
    private static bool TryDialog(ReadOnlySpan<byte> message, int count, out int index)
    {
        var id = HeaderValue(message, "Call-ID: "u8);
        index = -1;
        return id.StartsWith("load-"u8) && Utf8Parser.TryParse(id[5..], out index, out var used) && used == id.Length - 5 && index >= 0 && index < count;
    }

    private static void Check(Lane lane, Dialog d, uint cseq, ReadOnlySpan<byte> message)
    {
        lane.Total++;
        if (cseq == d.LastCSeq)
        {
            lane.Duplicates++; // a retransmission
            return;
        }
        if (cseq < d.LastCSeq)
        {
            // A retransmission of one already received (sent before our 200 reached the PNA) is late, not out of order.
            if (d.Seen.Contains(cseq))
            {
                lane.LateRetransmissions++;
            }
            else
            {
                lane.OutOfOrderCSeq++;
            }
            return;
        }
        d.Seen.Add(cseq);
        d.LastCSeq = cseq;
        Volatile.Write(ref d.Notifies, d.Notifies + 1);
        var body = message[(message.IndexOf("\r\n\r\n"u8) + 4)..];
        if (Number(body, "\"sequence\":"u8) is { } seq)
        {
            if (seq < d.LastSequence)
            {
                lane.OutOfOrderSequence++;
            }
            d.LastSequence = Math.Max(d.LastSequence, seq);
        }
        var totals = body.IndexOf("\"totals\":{"u8);
        if (totals >= 0 && Number(body[totals..], "\"messages\":"u8) is { } m && Number(body[totals..], "\"unseen\":"u8) is { } u)
        {
            (d.LastMessages, d.LastUnseen) = ((uint)m, (uint)u);
        }
    }

    private static long? Number(ReadOnlySpan<byte> json, ReadOnlySpan<byte> member)
    {
        var at = json.IndexOf(member);
        return at >= 0 && Utf8Parser.TryParse(json[(at + member.Length)..], out long value, out _) ? value : null;
    }
}
