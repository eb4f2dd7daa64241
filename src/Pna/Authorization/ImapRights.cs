namespace Aggregators.Pna.Authorization;

/// <summary>
/// RFC 4314 rights arithmetic, pure. The rights of an identity on a mailbox are the union of
/// the rights of every identifier that matches it, minus the union of the negative rights
/// ("-identifier") that match it (RFC 4314 §2). Matching identifiers: the identity itself,
/// <c>anyone</c> (§2), Dovecot's <c>authenticated</c> (every logged-in user) and <c>owner</c>
/// (the mailbox owner). Groups (<c>$g</c>, <c>group:g</c>, <c>group=g</c>) cannot be resolved
/// from outside the server and never match; the explanation says so.
/// </summary>
public static class ImapRights
{
    /// <summary>True when <paramref name="rights"/> is a non-empty string of RFC 4314 §2.1 right letters or digits.</summary>
    public static bool IsValid(string rights) =>
        rights.Length > 0 && rights.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));

    /// <summary>The effective rights of <paramref name="identity"/>, and which entries made them.</summary>
    public static (string Rights, string Explanation) Effective(
        IEnumerable<KeyValuePair<string, string>> acl, string identity, string owner)
    {
        ArgumentNullException.ThrowIfNull(acl);
        var granted = new SortedSet<char>();
        var denied = new SortedSet<char>();
        var used = new List<string>();
        var ignoredGroups = new List<string>();
        foreach (var (rawIdentifier, rights) in acl)
        {
            var negative = rawIdentifier.StartsWith('-');
            var identifier = negative ? rawIdentifier[1..] : rawIdentifier;
            if (IsGroup(identifier))
            {
                ignoredGroups.Add(rawIdentifier);
                continue;
            }
            if (!Matches(identifier, identity, owner))
            {
                continue;
            }
            used.Add($"{rawIdentifier} {rights}");
            (negative ? denied : granted).UnionWith(rights.Where(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)));
        }
        granted.ExceptWith(denied);
        var explanation = used.Count == 0 ? "no ACL entry matches" : "ACL entries " + string.Join(", ", used);
        if (ignoredGroups.Count > 0)
        {
            explanation += $"; group entries not evaluated ({string.Join(", ", ignoredGroups)})";
        }
        return (new string([.. granted]), explanation);
    }

    /// <summary>The letters of <paramref name="required"/> missing from <paramref name="rights"/>.</summary>
    public static string Missing(string rights, string required) =>
        new([.. required.Where(c => !rights.Contains(c, StringComparison.Ordinal)).Distinct()]);

    private static bool Matches(string identifier, string identity, string owner) =>
        identifier == "anyone"
        || identifier == "authenticated"
        || string.Equals(identifier, identity, StringComparison.Ordinal)
        || (identifier == "owner" && string.Equals(identity, owner, StringComparison.Ordinal));

    private static bool IsGroup(string identifier) =>
        identifier.StartsWith('$')
        || identifier.StartsWith("group:", StringComparison.Ordinal)
        || identifier.StartsWith("group=", StringComparison.Ordinal);
}
