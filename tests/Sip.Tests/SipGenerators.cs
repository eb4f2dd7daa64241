using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Sip.Tests;

/// <summary>FsCheck generators of valid SIP values (RFC 3261 §25.1).</summary>
internal static class SipGenerators
{
    private const string Alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string TokenChars = Alnum + "-.!%*_+`'~";

    public static Gen<string> StringOf(string chars, int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(chars.ToCharArray()), n)).Select(a => new string(a));

    public static Gen<string> Token => StringOf(TokenChars, 1, 12);

    // Any text, including characters that must be escaped, quotes, backslashes and non-ASCII.
    public static Gen<string> AnyText =>
        Gen.Choose(0, 10).SelectMany(n => Gen.ArrayOf(Gen.Elements("aZ9 \"\\@:;?&=%<>,/é€\u4e2d\t".ToCharArray()), n)).Select(a => new string(a));

    public static Gen<string> Host => Gen.OneOf(
        // hostname = *( domainlabel "." ) toplabel, toplabel starting with a letter
        from labels in Gen.Choose(0, 2).SelectMany(n => Gen.ArrayOf(StringOf(Alnum, 1, 8), n))
        from top in Gen.Zip(StringOf("abcdefghijklmnopqrstuvwxyz", 1, 1), StringOf(Alnum, 0, 6), (a, b) => a + b)
        select string.Join('.', labels.Append(top)),
        Gen.ArrayOf(Gen.Choose(0, 255), 4).Select(a => string.Join('.', a)),
        Gen.Elements("[::1]", "[2001:db8::10]", "[fe80::1:2:3:4]"));

    public static Gen<int?> Port => Gen.OneOf(Gen.Constant<int?>(null), Gen.Choose(1, 65535).Select(p => (int?)p));

    public static Gen<SipUri> Uri =>
        from scheme in Gen.Elements("sip", "sips")
        from user in Gen.OneOf(Gen.Constant<string?>(null), StringOf(Alnum + "+-.%@: é", 1, 10).Select(s => (string?)s))
        from password in Gen.OneOf(Gen.Constant<string?>(null), StringOf(Alnum + ":@;", 0, 6).Select(s => (string?)s))
        from host in Host
        from port in Port
        from parameters in Gen.ArrayOf(Gen.Zip(StringOf(Alnum + "-", 1, 6), Gen.OneOf(Gen.Constant<string?>(null), StringOf(Alnum + ";= %", 1, 6).Select(s => (string?)s))), 3)
        from headers in Gen.ArrayOf(Gen.Zip(StringOf(Alnum, 1, 6), StringOf(Alnum + "&=<> ", 0, 6)), 2)
        select Build(scheme, user, user is null ? null : password, host, port, parameters, headers);

    private static SipUri Build(string scheme, string? user, string? password, string host, int? port, (string, string?)[] parameters, (string, string)[] headers)
    {
        var uri = new SipUri(scheme, host) { User = user, Password = password, Port = port };
        foreach (var (n, v) in parameters.DistinctBy(p => p.Item1.ToUpperInvariant())) uri.Parameters.Add(new SipParameter(n, v));
        foreach (var (n, v) in headers) uri.Headers.Add(new(n, v));
        return uri;
    }

    public static Gen<SipParameter> HeaderParameter =>
        from name in Token
        from kind in Gen.Choose(0, 2)
        from token in Token
        from text in AnyText
        select kind switch
        {
            0 => new SipParameter(name, null),
            1 => new SipParameter(name, token),
            _ => new SipParameter(name, text, true),
        };

    public static Gen<SipNameAddress> NameAddress =>
        from uri in Uri
        from display in Gen.OneOf(Gen.Constant<string?>(null), AnyText.Select(s => (string?)s))
        from parameters in Gen.ArrayOf(HeaderParameter, 3)
        select WithParameters(new SipNameAddress(uri, display), parameters);

    private static SipNameAddress WithParameters(SipNameAddress na, SipParameter[] parameters)
    {
        foreach (var p in parameters.DistinctBy(p => p.Name.ToUpperInvariant())) na.Parameters.Add(p);
        return na;
    }

    public static Gen<SipVia> Via =>
        from transport in Gen.Elements("UDP", "TCP", "TLS", "SCTP", "WS")
        from host in Host
        from port in Port
        from branch in Token
        from received in Gen.OneOf(Gen.Constant<string?>(null), Gen.Elements<string?>("192.0.2.1", "[2001:db8::1]"))
        from rport in Gen.Elements(0, 1, 2)
        select BuildVia(transport, host, port, branch, received, rport);

    private static SipVia BuildVia(string transport, string host, int? port, string branch, string? received, int rport)
    {
        var via = new SipVia(transport, host, port) { Branch = SipVia.MagicCookie + branch, Received = received };
        if (rport == 1) via.Parameters.Add(new SipParameter("rport", null));
        if (rport == 2) via.Parameters.Add(new SipParameter("rport", "5062"));
        return via;
    }

    public static Gen<SipMessage> Message =>
        from isRequest in Gen.Elements(true, false)
        from method in Gen.OneOf(Gen.Elements(SipMethods.Subscribe, SipMethods.Notify, SipMethods.Register, SipMethods.Message), Token)
        from ruri in Uri.Select(u => { u.Headers.Clear(); return u; })
        from code in Gen.Choose(100, 699)
        from reason in StringOf(Alnum + " é", 0, 20)
        from vias in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Via, n))
        from fromAddr in NameAddress
        from to in NameAddress
        from callId in StringOf(Alnum + "@.-", 1, 20)
        from cseq in Gen.Choose(0, int.MaxValue)
        from maxForwards in Gen.Choose(0, 255)
        from contacts in Gen.Choose(0, 2).SelectMany(n => Gen.ArrayOf(NameAddress, n))
        from extra in Gen.ArrayOf(Gen.Zip(StringOf("XYZxyz-", 3, 8).Select(s => "X-" + s), StringOf(Alnum + " ;,=\"<>", 0, 20).Select(s => s.Trim())), 3)
        from body in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 40)
        select BuildMessage(isRequest, method, ruri, code, reason, vias, fromAddr, to, callId, (uint)cseq, maxForwards, contacts, extra, body);

    private static SipMessage BuildMessage(bool isRequest, string method, SipUri ruri, int code, string reason, SipVia[] vias,
        SipNameAddress from, SipNameAddress to, string callId, uint cseq, int maxForwards, SipNameAddress[] contacts,
        (string, string)[] extra, byte[] body)
    {
        SipMessage m = isRequest ? new SipRequest(method, ruri) : new SipResponse(code, reason);
        foreach (var v in vias) m.Headers.Add(SipHeaderNames.Via, v.ToString());
        m.From = from;
        m.To = to;
        m.CallId = callId;
        m.CSeq = new SipCSeq(cseq, method);
        m.MaxForwards = maxForwards;
        if (contacts.Length > 0) m.Headers.Add(SipHeaderNames.Contact, string.Join(", ", contacts.Select(c => c.ToString())));
        foreach (var (n, v) in extra) m.Headers.Add(n, v);
        m.Body = body;
        return m;
    }
}
