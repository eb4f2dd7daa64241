using System.Buffers;
using System.Text;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.ImapBridge.Tests;

internal static class ParseHelper
{
    public static ImapResponse Parse(string response, ImapLimits? limits = null)
    {
        var bytes = Encoding.UTF8.GetBytes(response);
        var seq = new ReadOnlySequence<byte>(bytes);
        Assert.True(ImapResponseFramer.TryFindEnd(seq, limits ?? ImapLimits.Default, out var end), "response not complete: " + response);
        Assert.Equal(bytes.Length, seq.Slice(0, end).Length);
        return ImapResponseParser.Parse(seq, limits ?? ImapLimits.Default);
    }

    public static T Parse<T>(string response)
        where T : ImapResponse => Assert.IsType<T>(Parse(response));

    public static ImapProtocolException Fails(string response, ImapLimits? limits = null)
    {
        var bytes = Encoding.UTF8.GetBytes(response);
        return Assert.Throws<ImapProtocolException>(() =>
        {
            var seq = new ReadOnlySequence<byte>(bytes);
            if (!ImapResponseFramer.TryFindEnd(seq, limits ?? ImapLimits.Default, out var end))
            {
                throw new InvalidOperationException("incomplete, not failed");
            }
            ImapResponseParser.Parse(seq.Slice(0, end), limits ?? ImapLimits.Default);
        });
    }
}
