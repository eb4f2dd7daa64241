using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Xml.Linq;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Xmpp;

/// <summary>
/// An XEP-0059 result set management request (<c>&lt;set xmlns='http://jabber.org/protocol/rsm'&gt;</c>):
/// a page size (<c>max</c>) and where the page starts: after an item (<c>after</c>), before one
/// (<c>before</c>; empty = the last page), or at an index (<c>index</c>, §2.5).
/// </summary>
public sealed record ResultSetRequest(int? Max, string? After, string? Before, int? Index)
{
    public const string Namespace = "http://jabber.org/protocol/rsm";

    public static XName SetName { get; } = XName.Get("set", Namespace);

    /// <summary>
    /// Reads the <c>&lt;set/&gt;</c> child of <paramref name="query"/>: true with null when there is
    /// none; false with the error text for a malformed one (answer bad-request).
    /// </summary>
    public static bool TryRead(XElement query, out ResultSetRequest? request, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(query);
        request = null;
        error = null;
        var set = query.Element(SetName);
        if (set is null)
        {
            return true;
        }
        int? max = null, index = null;
        if (set.Element(XName.Get("max", Namespace)) is { } m)
        {
            if (!int.TryParse(m.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                error = "RSM <max/> must be a non-negative integer";
                return false;
            }
            max = v;
        }
        if (set.Element(XName.Get("index", Namespace)) is { } i)
        {
            if (!int.TryParse(i.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                error = "RSM <index/> must be a non-negative integer";
                return false;
            }
            index = v;
        }
        var after = set.Element(XName.Get("after", Namespace))?.Value;
        var before = set.Element(XName.Get("before", Namespace))?.Value;
        if ((after is not null ? 1 : 0) + (before is not null ? 1 : 0) + (index is not null ? 1 : 0) > 1)
        {
            error = "RSM: at most one of <after/>, <before/> and <index/>";
            return false;
        }
        if (after is { Length: 0 })
        {
            error = "RSM <after/> must name an item";
            return false;
        }
        request = new ResultSetRequest(max, after, before, index);
        return true;
    }
}

/// <summary>One page of an ordered result set, and its XEP-0059 <c>&lt;set/&gt;</c> answer.</summary>
public readonly record struct ResultPage(int Start, int Length, int Count)
{
    /// <summary>
    /// Cuts the page <paramref name="request"/> asks for out of <paramref name="uids"/> (the items'
    /// ids in the result set's order), at most <paramref name="maxPage"/> items (also the page
    /// size without a request or without <c>max</c>). False with item-not-found when the
    /// <c>after</c>/<c>before</c> item is not in the set (XEP-0059: the item does not exist).
    /// </summary>
    public static bool TryCut(ResultSetRequest? request, IReadOnlyList<string> uids, int maxPage, out ResultPage page, [NotNullWhen(false)] out StanzaError? error)
    {
        ArgumentNullException.ThrowIfNull(uids);
        error = null;
        var size = Math.Min(request?.Max ?? maxPage, maxPage);
        int start;
        int end;
        if (request?.After is { } after)
        {
            var at = IndexOf(uids, after);
            if (at < 0)
            {
                page = default;
                error = StanzaError.Of(StanzaErrorCondition.ItemNotFound, "RSM: no item '" + after + "' in the result set");
                return false;
            }
            start = at + 1;
            end = Math.Min(uids.Count, start + size);
        }
        else if (request?.Before is { } before)
        {
            var at = before.Length == 0 ? uids.Count : IndexOf(uids, before);
            if (at < 0)
            {
                page = default;
                error = StanzaError.Of(StanzaErrorCondition.ItemNotFound, "RSM: no item '" + before + "' in the result set");
                return false;
            }
            end = at;
            start = Math.Max(0, end - size);
        }
        else
        {
            start = Math.Min(request?.Index ?? 0, uids.Count);
            end = Math.Min(uids.Count, start + size);
        }
        page = new ResultPage(start, end - start, uids.Count);
        return true;
    }

    private static int IndexOf(IReadOnlyList<string> uids, string uid)
    {
        for (var i = 0; i < uids.Count; i++)
        {
            if (string.Equals(uids[i], uid, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>§2: <c>&lt;set&gt;&lt;first index='…'&gt;…&lt;/first&gt;&lt;last&gt;…&lt;/last&gt;&lt;count&gt;…&lt;/count&gt;&lt;/set&gt;</c> (no first/last for an empty page).</summary>
    public XElement ToElement(IReadOnlyList<string> uids)
    {
        ArgumentNullException.ThrowIfNull(uids);
        XNamespace ns = ResultSetRequest.Namespace;
        var set = new XElement(ns + "set");
        if (Length > 0)
        {
            set.Add(new XElement(ns + "first", new XAttribute("index", Start.ToString(CultureInfo.InvariantCulture)), uids[Start]));
            set.Add(new XElement(ns + "last", uids[Start + Length - 1]));
        }
        set.Add(new XElement(ns + "count", Count.ToString(CultureInfo.InvariantCulture)));
        return set;
    }
}
