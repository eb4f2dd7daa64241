using System.Globalization;
using System.Security.Cryptography;

namespace Aggregators.Sip.Transactions;

/// <summary>RFC 3261 §17.1.1.1 / §17.1.2.1 timer values.</summary>
public sealed record SipTimerSettings
{
    public static SipTimerSettings Default { get; } = new();

    /// <summary>RTT estimate.</summary>
    public TimeSpan T1 { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Maximum retransmission interval for non-INVITE requests.</summary>
    public TimeSpan T2 { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Maximum time a message stays in the network.</summary>
    public TimeSpan T4 { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Timers F and J: 64*T1.</summary>
    public TimeSpan TransactionTimeout => T1 * 64;
}

public enum SipTransactionState
{
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// <summary>
/// Transaction identity by the RFC 3261 branch (§17.1.3, §17.2.3): top Via branch and method,
/// plus sent-by on the server side. RFC 2543 matching (no magic cookie) is not supported.
/// </summary>
public readonly record struct SipTransactionKey(string Branch, string Method, string? SentBy)
{
    // 64 random bits drawn once per process, then a counter: unique over space and time as §8.1.1.7
    // asks, without a call into the system RNG per request (one per NOTIFY was a measurable cost).
    private static readonly string BranchPrefix = SipVia.MagicCookie + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private static long s_branchCounter = RandomNumberGenerator.GetInt32(int.MaxValue);

    /// <summary>A new branch (§8.1.1.7): the magic cookie, a per-process random part and a counter.</summary>
    public static string NewBranch()
    {
        var n = (ulong)Interlocked.Increment(ref s_branchCounter);
        return string.Create(BranchPrefix.Length + 16, n, static (span, value) =>
        {
            BranchPrefix.AsSpan().CopyTo(span);
            value.TryFormat(span[BranchPrefix.Length..], out _, "x16", CultureInfo.InvariantCulture);
        });
    }

    /// <summary>True when the branch starts with the magic cookie z9hG4bK.</summary>
    public static bool IsRfc3261Branch(string? branch) => branch is { Length: > 7 } && branch.StartsWith(SipVia.MagicCookie, StringComparison.Ordinal);

    /// <summary>The client transaction a response belongs to (§17.1.3); null when it cannot belong to any.</summary>
    public static SipTransactionKey? ForResponse(SipResponse response)
    {
        var via = response.TopVia;
        if (via?.Branch is not { } branch) return null;
        return new SipTransactionKey(branch, response.CSeq.Method, null);
    }

    public static SipTransactionKey? ForClientRequest(SipRequest request)
    {
        // The branch read from the top Via's bytes (no Via list parse per request sent); anything unusual: the full parse.
        if (request.Headers.GetFirst(SipHeaderNames.Via) is { } top && Parsing.SipResponseHead.TryReadBranch(top.RawValue.Span, out var raw))
            return new SipTransactionKey(System.Text.Encoding.ASCII.GetString(raw), request.Method, null);
        return request.TopVia?.Branch is { } branch ? new SipTransactionKey(branch, request.Method, null) : null;
    }

    /// <summary>The server transaction a request belongs to (§17.2.3); ACK matches its INVITE.</summary>
    public static SipTransactionKey? ForServer(SipRequest request)
    {
        var via = request.TopVia;
        if (via is null || !IsRfc3261Branch(via.Branch)) return null;
        var method = request.Method == SipMethods.Ack ? SipMethods.Invite : request.Method;
        var sentBy = via.Port is { } p ? $"{via.Host.ToLowerInvariant()}:{p.ToString(CultureInfo.InvariantCulture)}" : via.Host.ToLowerInvariant();
        return new SipTransactionKey(via.Branch!, method, sentBy);
    }
}
