namespace Aggregators.EventModel.Tests;

/// <summary>
/// Equality for <see cref="MailEvent"/>: the record's own Equals compares the list-valued members
/// (FlagNames, Tags, Vendor) by reference, so compare those element by element.
/// </summary>
internal static class MailEventAssert
{
    public static bool AreEqual(MailEvent a, MailEvent b) =>
        a with { FlagNames = null, Tags = null, Vendor = null } == b with { FlagNames = null, Tags = null, Vendor = null }
        && SameList(a.FlagNames, b.FlagNames)
        && SameList(a.Tags, b.Tags)
        && SameList(a.Vendor, b.Vendor);

    private static bool SameList<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b);

    public static void Equal(MailEvent expected, MailEvent actual)
    {
        if (!AreEqual(expected, actual))
        {
            Assert.Fail($"events differ:\nexpected {Show(expected)}\nactual   {Show(actual)}");
        }
    }

    public static string Show(MailEvent e) =>
        $"{e} flags=[{string.Join(",", e.FlagNames ?? [])}] tags=[{string.Join(",", e.Tags ?? [])}] vendor=[{string.Join(",", e.Vendor?.Select(v => v.Name + "=" + v.RawJson) ?? [])}]";
}
