using System.Text;
using Aggregators.EventModel.Json;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests;

public class PropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(500);

    [Fact]
    public void Encode_then_decode_gives_an_equal_event() =>
        Prop.ForAll(Arb.From(Generators.Event), e =>
        {
            var bytes = MailEventJson.Encode(e);
            if (!MailEventJson.TryDecode(bytes, 0, out var back, out var error))
            {
                throw new InvalidOperationException($"{error}\n{Encoding.UTF8.GetString(bytes)}");
            }
            if (!MailEventAssert.AreEqual(e, back!))
            {
                throw new InvalidOperationException($"differs:\n{MailEventAssert.Show(e)}\n{MailEventAssert.Show(back!)}\n{Encoding.UTF8.GetString(bytes)}");
            }
            // The strict form is a fixed point.
            return MailEventJson.Encode(back!).AsSpan().SequenceEqual(bytes);
        }).Check(Many);

    /// <summary>
    /// The lenient forms other producers send decode to the same event: members in another order,
    /// flagNames as an array, Dovecot's MailboxUnsubscribe, IMAP URLs with any case of scheme and
    /// parameters.
    /// </summary>
    [Fact]
    public void Lenient_variants_decode_to_the_same_event() =>
        Prop.ForAll(Arb.From(Generators.Event), e =>
        {
            var lenient = Lenient(MailEventJson.Encode(e));
            if (!MailEventJson.TryDecode(lenient, 0, out var back, out var error))
            {
                throw new InvalidOperationException($"{error}\n{Encoding.UTF8.GetString(lenient)}");
            }
            if (!MailEventAssert.AreEqual(e, back!))
            {
                throw new InvalidOperationException($"differs:\n{MailEventAssert.Show(e)}\n{MailEventAssert.Show(back!)}\n{Encoding.UTF8.GetString(lenient)}");
            }
            return true;
        }).Check(Many);

    private static byte[] Lenient(byte[] strict)
    {
        using var document = System.Text.Json.JsonDocument.Parse(strict);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            // Reverse the RFC members; vendor members keep their order (it is kept, and compared).
            var members = document.RootElement.EnumerateObject().ToArray();
            var reordered = members.Where(m => !m.Name.StartsWith("vnd.", StringComparison.Ordinal)).Reverse()
                .Concat(members.Where(m => m.Name.StartsWith("vnd.", StringComparison.Ordinal)));
            foreach (var member in reordered)
            {
                switch (member.Name)
                {
                    case "flagNames":
                        w.WriteStartArray(member.Name);
                        foreach (var flag in member.Value.GetString()!.Split(' '))
                        {
                            w.WriteStringValue(flag);
                        }
                        w.WriteEndArray();
                        break;
                    case "event" when member.Value.GetString() == "MailboxUnSubscribe":
                        w.WriteString(member.Name, "MailboxUnsubscribe");
                        break;
                    case "uri" or "mailboxID" or "oldMailboxID":
                        w.WriteString(member.Name, member.Value.GetString()!
                            .Replace("imap://", "IMAP://", StringComparison.Ordinal)
                            .Replace(";UIDVALIDITY=", ";uidValidity=", StringComparison.Ordinal)
                            .Replace("/;UID=", "/;uid=", StringComparison.Ordinal)
                            .Replace("/;SECTION=", "/;Section=", StringComparison.Ordinal)
                            .Replace("%20", " ", StringComparison.Ordinal));
                        break;
                    case var name when name.StartsWith("vnd.", StringComparison.Ordinal):
                        w.WritePropertyName(name);
                        w.WriteRawValue(member.Value.GetRawText()); // verbatim, as the producer wrote it
                        break;
                    default:
                        member.WriteTo(w);
                        break;
                }
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_batch_of_random_events_decodes_in_both_framings() =>
        Prop.ForAll(Arb.From(Gen.ArrayOf(Generators.Event, 5)), events =>
        {
            var lines = events.Select(e => Encoding.UTF8.GetString(MailEventJson.Encode(e))).ToArray();
            var nd = MailEventJson.DecodeBatch(Encoding.UTF8.GetBytes(string.Join("\r\n", lines)), BatchFormat.NdJson, 10);
            var array = MailEventJson.DecodeBatch(Encoding.UTF8.GetBytes("[" + string.Join(",", lines) + "]"), BatchFormat.JsonArray, 10);
            return nd.Events.Count == 5 && array.Events.Count == 5 && array.FramingError is null
                && Enumerable.Range(0, 5).All(i => MailEventAssert.AreEqual(events[i], nd.Events[i].Event) && MailEventAssert.AreEqual(events[i], array.Events[i].Event));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    [Fact]
    public void Mailbox_path_text_round_trips() =>
        Prop.ForAll(Arb.From(Generators.Path), path =>
            MailboxPath.Parse(path.Value) == path
            && MailboxPath.Parse(path.Value).Segments.SequenceEqual(path.Segments)
            && MailboxPath.FromSegments([.. path.Segments]).Value == path.Value).Check(Many);

    [Fact]
    public void Mailbox_path_imap_round_trips_for_separators_not_in_its_segments() =>
        Prop.ForAll(Arb.From(Gen.Zip(Generators.Path, Gen.Elements('/', '.', '\\', '|'))), p =>
        {
            var (path, sep) = p;
            if (path.Segments.Any(s => s.Contains(sep, StringComparison.Ordinal)))
            {
                return true;
            }
            return MailboxPath.FromImap(path.ToImap(sep), sep) == path;
        }).Check(Many);

    [Fact]
    public void Imap_url_parse_of_write_is_identity() =>
        Prop.ForAll(Arb.From(Generators.Url), url =>
        {
            var text = url.ToString();
            if (!ImapUrl.TryParse(text, out var back, out var error))
            {
                throw new InvalidOperationException($"{text}: {error}");
            }
            if (back != url)
            {
                throw new InvalidOperationException($"{text}\n{url}\n{back}");
            }
            return back.ToString() == text;
        }).Check(Many);

    private static Gen<EventTypeSet> Sets => Gen.ArrayOf(Gen.Elements(MailEventTypes.All.ToArray())).Select(t => EventTypeSet.Of(t));

    [Fact]
    public void Event_type_set_behaves_like_a_set() =>
        Prop.ForAll(Arb.From(from a in Sets from b in Sets from t in Gen.Elements(MailEventTypes.All.ToArray()) select (a, b, t)), p =>
        {
            var (a, b, t) = p;
            return a.Union(b).Contains(t) == (a.Contains(t) || b.Contains(t))
                && a.Intersect(b).Contains(t) == (a.Contains(t) && b.Contains(t))
                && a.With(t).Contains(t)
                && EventTypeSet.Of([.. a.Types()]) == a
                && a.Union(b) == b.Union(a)
                && a.Intersect(EventTypeSet.All) == a
                && a.Union(EventTypeSet.None) == a
                && a.IsEmpty == !a.Types().Any()
                && a.Types().All(a.Contains);
        }).Check(Many);
}
