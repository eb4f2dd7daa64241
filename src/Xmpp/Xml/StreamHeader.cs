namespace Aggregators.Xmpp.Xml;

/// <summary>
/// The attributes of a received stream header (RFC 6120 §4.7). Servers differ in attribute
/// order and id format (Prosody: a UUID, ejabberd: a number), so nothing but presence is assumed.
/// </summary>
public sealed record StreamHeader(string ContentNamespace, string? Id, string? From, string? To, string? Version, string? Language);
