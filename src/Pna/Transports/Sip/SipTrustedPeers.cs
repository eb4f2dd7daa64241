using System.Net;
using Aggregators.Sip;
using Aggregators.Sip.Auth;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// One <c>Pna:Sip:TrustedPeers</c> entry (docs/sip.md): a CNA that authenticates with its own
/// digest credentials and may assert its local users' identities with P-Asserted-Identity
/// (RFC 3325 §9.1) for the authorization policy.
/// </summary>
public sealed class SipTrustedPeerOptions
{
    /// <summary>The peer's digest username (the shared secret is <see cref="Password"/>).</summary>
    public string Username { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>Domains whose identities the peer may assert (sip:romeo@example.net needs example.net). Required.</summary>
    public List<string> Domains { get; init; } = [];

    /// <summary>Source addresses the peer's requests may come from; empty: any.</summary>
    public List<string> Addresses { get; init; } = [];
}

/// <summary>
/// The trusted peers (RFC 3325 §2's "Trust Domain", configured): their digest H(A1)s, and whose
/// identity a request is authorized as. P-Asserted-Identity from anyone else is removed and ignored.
/// </summary>
public sealed class SipTrustedPeers
{
    public const string AssertedIdentityHeader = "P-Asserted-Identity";

    private readonly Dictionary<string, (SipTrustedPeerOptions Peer, string Md5, string Sha256, HashSet<IPAddress> Addresses)> _peers = new(StringComparer.Ordinal);

    public SipTrustedPeers(IEnumerable<SipTrustedPeerOptions> peers, string realm)
    {
        ArgumentNullException.ThrowIfNull(peers);
        foreach (var p in peers)
        {
            _peers[p.Username] = (p,
                DigestComputation.Ha1(DigestAlgorithm.Md5, p.Username, realm, p.Password),
                DigestComputation.Ha1(DigestAlgorithm.Sha256, p.Username, realm, p.Password),
                [.. p.Addresses.Select(IPAddress.Parse)]);
        }
    }

    public int Count => _peers.Count;

    /// <summary>H(A1) of a peer, or null when the username is not a peer's.</summary>
    public string? Ha1(string username, DigestAlgorithm algorithm) =>
        _peers.TryGetValue(username, out var p) ? (algorithm == DigestAlgorithm.Md5 ? p.Md5 : p.Sha256) : null;

    public bool IsPeer(string username) => _peers.ContainsKey(username);

    /// <summary>
    /// The subscriber a request from peer <paramref name="username"/> is authorized as: the asserted
    /// identity (first P-Asserted-Identity, sip: or sips:, user@host) when the peer may assert it,
    /// else the peer's own identity <paramref name="own"/>. Null with an error when the request came
    /// from an address the peer may not use or asserts a domain it may not.
    /// </summary>
    public string? SubscriberFor(string username, SipRequest request, IPEndPoint remote, string own, out string? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(remote);
        error = null;
        var (peer, _, _, addresses) = _peers[username];
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        if (addresses.Count > 0 && !addresses.Contains(address))
        {
            error = "trusted peer from an address not configured for it";
            return null;
        }
        if (request.Headers.GetFirstValue(AssertedIdentityHeader) is not { } value)
        {
            return own;
        }
        SipNameAddress asserted;
        try
        {
            asserted = SipNameAddress.Parse(value);
        }
        catch (SipParseException)
        {
            error = "malformed P-Asserted-Identity";
            return null;
        }
        var uri = asserted.Uri;
        if (!uri.IsSip || string.IsNullOrEmpty(uri.User))
        {
            error = "P-Asserted-Identity needs a sip: URI with a user";
            return null;
        }
        if (!peer.Domains.Contains(uri.Host, StringComparer.OrdinalIgnoreCase))
        {
            error = "the peer may not assert identities of " + uri.Host;
            return null;
        }
        return $"sip:{uri.User}@{uri.Host.ToLowerInvariant()}";
    }

    /// <summary>RFC 3325 §5: an untrusted sender's P-Asserted-Identity is removed, never believed.</summary>
    public static void StripAssertedIdentity(SipRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Remove(AssertedIdentityHeader);
    }
}
