using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Aggregators.Sip.Dns;

/// <summary>One SRV record (RFC 2782): where a service of a domain runs.</summary>
public sealed record SrvRecord(ushort Priority, ushort Weight, ushort Port, string Target, TimeSpan Ttl);

/// <summary>
/// The DNS wire format of an SRV query and its answer (RFC 1035 §4, RFC 2782), no I/O. The parser
/// is strict and bounded: a truncated or malformed answer, a compression loop, or a name over 255
/// octets is an error, never an exception escaping <see cref="TryParseResponse"/>.
/// </summary>
public static class DnsSrvMessage
{
    private const ushort TypeSrv = 33;
    private const ushort ClassIn = 1;

    /// <summary>A standard query with recursion desired for <paramref name="name"/> SRV IN.</summary>
    public static byte[] BuildQuery(ushort id, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var labels = name.TrimEnd('.').Split('.');
        var length = 12 + labels.Sum(l => 1 + Encoding.ASCII.GetByteCount(l)) + 1 + 4;
        var q = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(q, id);
        q[2] = 0x01; // RD
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(4), 1); // QDCOUNT
        var at = 12;
        foreach (var label in labels)
        {
            var bytes = Encoding.ASCII.GetBytes(label);
            if (bytes.Length is 0 or > 63)
            {
                throw new ArgumentException($"'{name}' has an empty or over-long label", nameof(name));
            }
            q[at++] = (byte)bytes.Length;
            bytes.CopyTo(q, at);
            at += bytes.Length;
        }
        q[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(at), TypeSrv);
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(at + 2), ClassIn);
        return q;
    }

    /// <summary>Reads the SRV answers of a response to query <paramref name="id"/>; NXDOMAIN or no answers give an empty list.</summary>
    public static bool TryParseResponse(ReadOnlySpan<byte> message, ushort id, out List<SrvRecord> records, out string? error)
    {
        records = [];
        error = null;
        if (message.Length < 12)
        {
            error = "shorter than a DNS header";
            return false;
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(message) != id || (message[2] & 0x80) == 0)
        {
            error = "not the answer to this query";
            return false;
        }
        if ((message[2] & 0x02) != 0)
        {
            error = "truncated (TC): SRV over TCP is not implemented";
            return false;
        }
        var rcode = message[3] & 0x0F;
        if (rcode == 3)
        {
            return true; // NXDOMAIN: no such service
        }
        if (rcode != 0)
        {
            error = "DNS error RCODE " + rcode;
            return false;
        }
        var questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var at = 12;
        for (var i = 0; i < questions; i++)
        {
            if (!TryReadName(message, ref at, out _, out error) || at + 4 > message.Length)
            {
                error ??= "truncated question";
                return false;
            }
            at += 4;
        }
        for (var i = 0; i < answers; i++)
        {
            if (!TryReadName(message, ref at, out _, out error) || at + 10 > message.Length)
            {
                error ??= "truncated answer";
                return false;
            }
            var type = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(at + 4)..]);
            var rdlength = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 8)..]);
            at += 10;
            if (at + rdlength > message.Length)
            {
                error = "truncated record data";
                return false;
            }
            if (type == TypeSrv)
            {
                if (rdlength < 7)
                {
                    error = "SRV record data too short";
                    return false;
                }
                var target = at + 6;
                if (!TryReadName(message, ref target, out var name, out error))
                {
                    return false;
                }
                records.Add(new SrvRecord(
                    BinaryPrimitives.ReadUInt16BigEndian(message[at..]),
                    BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]),
                    BinaryPrimitives.ReadUInt16BigEndian(message[(at + 4)..]),
                    name,
                    TimeSpan.FromSeconds(Math.Min(ttl, 86_400))));
            }
            at += rdlength;
        }
        return true;
    }

    /// <summary>A domain name with compression pointers (RFC 1035 §4.1.4); <paramref name="at"/> moves past it.</summary>
    private static bool TryReadName(ReadOnlySpan<byte> message, ref int at, out string name, out string? error)
    {
        var sb = new StringBuilder();
        var position = at;
        var jumped = false;
        var jumps = 0;
        while (true)
        {
            if (position >= message.Length)
            {
                name = "";
                error = "name runs past the message";
                return false;
            }
            var length = message[position];
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length || ++jumps > 16)
                {
                    name = "";
                    error = "bad compression pointer";
                    return false;
                }
                if (!jumped)
                {
                    at = position + 2;
                    jumped = true;
                }
                position = ((length & 0x3F) << 8) | message[position + 1];
                continue;
            }
            if ((length & 0xC0) != 0)
            {
                name = "";
                error = "unknown label type";
                return false;
            }
            if (length == 0)
            {
                if (!jumped)
                {
                    at = position + 1;
                }
                name = sb.ToString();
                error = null;
                return true;
            }
            if (position + 1 + length > message.Length || sb.Length + length + 1 > 255)
            {
                name = "";
                error = "label runs past the message or name over 255 octets";
                return false;
            }
            if (sb.Length > 0)
            {
                sb.Append('.');
            }
            sb.Append(Encoding.ASCII.GetString(message.Slice(position + 1, length)));
            position += 1 + length;
        }
    }

    /// <summary>
    /// RFC 2782 order of all usable records, the order a client tries them in (RFC 3263 §4.3):
    /// priorities lowest first; within one priority, repeated weighted random choice among the
    /// records not yet chosen (weight 0 placed first, so chosen only when the others sum to 0 or
    /// the draw is 0). "." as target is left out.
    /// </summary>
    public static IReadOnlyList<SrvRecord> Order(IReadOnlyList<SrvRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var ordered = new List<SrvRecord>(records.Count);
        foreach (var group in records.Where(r => r.Target.Length > 0 && r.Target != ".").GroupBy(r => r.Priority).OrderBy(g => g.Key))
        {
            var left = group.OrderBy(r => r.Weight == 0 ? 0 : 1).ToList();
            while (left.Count > 0)
            {
                var pick = RandomNumberGenerator.GetInt32(left.Sum(r => r.Weight) + 1);
                var running = 0;
                var chosen = left.Count - 1;
                for (var i = 0; i < left.Count; i++)
                {
                    running += left[i].Weight;
                    if (running >= pick)
                    {
                        chosen = i;
                        break;
                    }
                }
                ordered.Add(left[chosen]);
                left.RemoveAt(chosen);
            }
        }
        return ordered;
    }

    /// <summary>
    /// RFC 2782 selection: the lowest priority, then by weight (random, weight 0 last). "." as
    /// target means the service is decidedly not available.
    /// </summary>
    public static SrvRecord? Choose(IReadOnlyList<SrvRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var usable = records.Where(r => r.Target.Length > 0 && r.Target != ".").ToList();
        if (usable.Count == 0)
        {
            return null;
        }
        var best = usable.Min(r => r.Priority);
        var group = usable.Where(r => r.Priority == best).ToList();
        var total = group.Sum(r => r.Weight);
        if (total == 0)
        {
            return group[0];
        }
        var pick = RandomNumberGenerator.GetInt32(total + 1);
        var running = 0;
        foreach (var r in group.OrderBy(r => r.Weight == 0 ? 0 : 1))
        {
            running += r.Weight;
            if (running >= pick)
            {
                return r;
            }
        }
        return group[^1];
    }
}

/// <summary>
/// SRV lookups for SIP (RFC 3263 §4 without NAPTR, RFC 2782), shared by the CNA (finding a
/// domain's PNA) and the PNA's alert sender (finding a target's or proxy's server). Queries go over
/// UDP to one server (no TCP retry of a truncated answer); answers, empty ones included, are
/// cached for their TTL (at least 30 s). Target names are resolved by the system resolver.
/// </summary>
public sealed class DnsSrvResolver(IPEndPoint server, TimeProvider time)
{
    private static readonly TimeSpan MinimumTtl = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (List<SrvRecord> Records, DateTimeOffset Until)> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <summary>How long one query waits for its answer.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The first nameserver of /etc/resolv.conf, else 127.0.0.1:53.</summary>
    public static IPEndPoint SystemServer()
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/resolv.conf"))
            {
                var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && parts[0] == "nameserver" && IPAddress.TryParse(parts[1], out var a))
                {
                    return new IPEndPoint(a, 53);
                }
            }
        }
        catch (IOException)
        {
        }
        return new IPEndPoint(IPAddress.Loopback, 53);
    }

    /// <summary>"" or "host[:port]": the server given, port 53 by default; else <see cref="SystemServer"/>.</summary>
    public static IPEndPoint ServerFrom(string? configured) =>
        string.IsNullOrEmpty(configured) ? SystemServer()
        : IPEndPoint.TryParse(configured, out var e) ? (e.Port == 0 ? new IPEndPoint(e.Address, 53) : e) : SystemServer();

    /// <summary>
    /// The CNA's lookup of a domain's PNA (RFC 3263 §4.2 without NAPTR): <c>_sip._udp.&lt;domain&gt;</c>,
    /// then <c>_sip._tcp.&lt;domain&gt;</c>; the chosen target's IPv4 address.
    /// </summary>
    public async Task<(IPEndPoint Target, string Transport)?> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        foreach (var transport in (string[])["udp", "tcp"])
        {
            if (await ResolveServiceAsync($"_sip._{transport}.{domain}", cancellationToken).ConfigureAwait(false) is { } target)
            {
                return (target, transport);
            }
        }
        return null;
    }

    /// <summary>
    /// One service (<c>_sip._tcp.example.com</c>): the RFC 2782 choice among its records and that
    /// target's IPv4 address (else any address); null when there is no usable record or address.
    /// </summary>
    public async Task<IPEndPoint?> ResolveServiceAsync(string service, CancellationToken cancellationToken)
    {
        if (DnsSrvMessage.Choose(await LookupAsync(service, cancellationToken).ConfigureAwait(false)) is not { } chosen)
        {
            return null;
        }
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(chosen.Target, out var literal)
                ? [literal]
                : await System.Net.Dns.GetHostAddressesAsync(chosen.Target, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            return null;
        }
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
        return address is null ? null : new IPEndPoint(address, chosen.Port);
    }

    /// <summary>The SRV records of <paramref name="name"/> (empty: none, or no answer in time), from the cache while fresh.</summary>
    public async Task<IReadOnlyList<SrvRecord>> LookupAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_gate)
        {
            if (_cache.TryGetValue(name, out var hit) && hit.Until > time.GetUtcNow())
            {
                return hit.Records;
            }
        }
        var (records, answered) = await QueryAsync(name, cancellationToken).ConfigureAwait(false);
        if (answered)
        {
            var ttl = records.Count == 0 ? MinimumTtl : records.Min(r => r.Ttl);
            lock (_gate)
            {
                _cache[name] = (records, time.GetUtcNow() + (ttl < MinimumTtl ? MinimumTtl : ttl));
            }
        }
        return records;
    }

    private async Task<(List<SrvRecord> Records, bool Answered)> QueryAsync(string name, CancellationToken cancellationToken)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(DnsSrvMessage.BuildQuery(id, name), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(QueryTimeout);
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return ([], false); // no answer: treated as no record, not cached
            }
            if (DnsSrvMessage.TryParseResponse(buffer.AsSpan(0, n), id, out var records, out _))
            {
                return (records, true);
            }
        }
    }
}
