using System.Collections.Frozen;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// One IMAP connection (RFC 3501 / RFC 9051 client side). Commands run one at a time, each as an
/// async method returning its typed result or throwing <see cref="ImapCommandException"/> (NO/BAD)
/// or <see cref="ImapConnectionException"/> (connection gone; every later call fails the same way).
/// <para>
/// A background loop reads every response. Untagged responses that belong to the running
/// command's result (LIST for LIST, STATUS of the asked mailbox, FETCH of the asked UIDs, ...) go to
/// that result; everything else — EXISTS, EXPUNGE, FETCH FLAGS, STATUS and LIST pushed by NOTIFY,
/// anything unsolicited — goes to <see cref="Unsolicited"/>. Mailbox-state responses a command
/// also reports (EXISTS and FLAGS during SELECT, everything during NOOP) go to both. When the
/// connection is lost, <see cref="Unsolicited"/> completes with the <see cref="ImapConnectionException"/>;
/// after LOGOUT or Dispose it completes normally.
/// </para>
/// <para>
/// While idle the client holds no receive buffer (zero-byte reads) so that many idle accounts stay
/// cheap. A timeout or cancellation of a running command closes the connection: after it the
/// command stream is in an unknown state.
/// </para>
/// </summary>
public sealed partial class ImapClient : IAsyncDisposable
{
    private static readonly StreamPipeReaderOptions s_pipeOptions =
        new(bufferSize: 4096, minimumReadSize: 512, leaveOpen: true, useZeroByteReads: true);

    private readonly ImapClientOptions _options;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _commandLock = new(1, 1);
    private readonly Channel<ImapUntaggedResponse> _unsolicited;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closed = new();
    private Stream _stream;
    private PipeReader _pipe;
    private ImapResponseReader _reader;
    private PendingCommand? _current;
    private PendingCommand? _next; // sent after DONE, before IDLE's tagged response (EndIdleThenUidFetchAsync)
    private Task? _readLoop;
    private ImapConnectionException? _failure;
    private ImapUntaggedStatusResponse? _bye;
    private FrozenSet<string> _capabilities = FrozenSet<string>.Empty;
    private bool _capabilitiesKnown;
    private ImapLiteralMode _literalMode = ImapLiteralMode.Synchronizing;
    private int _tag;
    private long _dropped;
    private bool _loggingOut;

    private ImapClient(ImapClientOptions options, Stream stream)
    {
        _options = options;
        _log = options.Logger ?? NullLogger.Instance;
        _stream = stream;
        _pipe = PipeReader.Create(stream, s_pipeOptions);
        _reader = new ImapResponseReader(_pipe, options.Limits);
        // The consumer (the account watcher) continues on the read loop's thread: no thread-pool hop
        // between reading a push and acting on it. Its code awaits (never blocks) while the loop must
        // read on, so the loop goes on reading as soon as the consumer awaits.
        _unsolicited = Channel.CreateBounded<ImapUntaggedResponse>(new BoundedChannelOptions(options.UnsolicitedCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = true,
        });
    }

    /// <summary>Protocol state: set by the greeting, LOGIN/AUTHENTICATE, SELECT/EXAMINE and LOGOUT.</summary>
    public ImapConnectionState State { get; private set; }

    /// <summary>The server's greeting (OK or PREAUTH).</summary>
    public ImapUntaggedStatusResponse? Greeting { get; private set; }

    /// <summary>Capabilities last announced (greeting, CAPABILITY, or a [CAPABILITY] code after login), case-insensitive.</summary>
    public IReadOnlySet<string> Capabilities => _capabilities;

    /// <summary>The mailbox SELECT/EXAMINE opened, or null.</summary>
    public ImapMailboxState? SelectedMailbox { get; private set; }

    /// <summary>Responses nobody asked for (see the class summary). Completes with the connection's end.</summary>
    public ChannelReader<ImapUntaggedResponse> Unsolicited => _unsolicited.Reader;

    /// <summary>Unsolicited responses dropped because <see cref="Unsolicited"/> was full: if non-zero, resynchronise.</summary>
    public long UnsolicitedDropped => Interlocked.Read(ref _dropped);

    /// <summary>When the last command completed: a keepalive scheduler sends NOOP (<see cref="KeepAliveAsync"/>) after a quiet period.</summary>
    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Why the connection ended, or null while it is usable.</summary>
    public ImapConnectionException? Failure => _failure;

    public bool IsConnected => _failure is null;

    /// <summary>True when the server announced <paramref name="capability"/> (e.g. "NOTIFY", "IDLE").</summary>
    public bool Supports(string capability) => _capabilities.Contains(capability);

    /// <summary>Connects over TCP, applies <see cref="ImapClientOptions.Security"/> and reads the greeting.</summary>
    public static async Task<ImapClient> ConnectAsync(ImapClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Security == ImapSecurity.Tls)
            {
                stream = await AuthenticateTlsAsync(stream, options, timeout.Token).ConfigureAwait(false);
            }
            var client = new ImapClient(options, stream);
            await client.StartAsync(timeout.Token).ConfigureAwait(false);
            return client;
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            stream?.Dispose();
            socket.Dispose();
            throw new ImapConnectionException(
                e is OperationCanceledException
                    ? $"could not connect to {options.Host}:{options.Port} within {options.ConnectTimeout}"
                    : $"could not connect to {options.Host}:{options.Port}: {e.Message}", e);
        }
        catch
        {
            stream?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs the protocol over an already connected duplex stream (a pipe, a test transport, a proxy).</summary>
    public static async Task<ImapClient> ConnectAsync(Stream stream, ImapClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= new ImapClientOptions();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        if (options.Security == ImapSecurity.Tls)
        {
            stream = await AuthenticateTlsAsync(stream, options, timeout.Token).ConfigureAwait(false);
        }
        var client = new ImapClient(options, stream);
        try
        {
            await client.StartAsync(timeout.Token).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<Stream> AuthenticateTlsAsync(Stream inner, ImapClientOptions options, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = options.TlsTargetHost ?? options.Host,
                RemoteCertificateValidationCallback = options.CertificateValidation,
                EnabledSslProtocols = options.TlsProtocols,
                CertificateRevocationCheckMode = options.CheckCertificateRevocation
                    ? System.Security.Cryptography.X509Certificates.X509RevocationMode.Online
                    : System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            }, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch (AuthenticationException e)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new ImapConnectionException($"TLS handshake with {options.Host} failed: {e.Message}", e);
        }
    }

    /// <summary>Greeting (RFC 3501 §7.1.1/§7.1.4/§7.1.5), STARTTLS when required, then the read loop.</summary>
    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var greeting = await ReadDirectAsync(cancellationToken).ConfigureAwait(false);
        switch (greeting)
        {
            case ImapUntaggedStatusResponse { Status: ImapStatus.Ok } ok:
                Greeting = ok;
                State = ImapConnectionState.NotAuthenticated;
                break;
            case ImapUntaggedStatusResponse { Status: ImapStatus.PreAuth } preauth:
                Greeting = preauth;
                State = ImapConnectionState.Authenticated;
                break;
            case ImapUntaggedStatusResponse { Status: ImapStatus.Bye } bye:
                throw new ImapConnectionException($"server refused the connection: BYE {bye.Text}") { Bye = bye };
            default:
                throw new ImapConnectionException($"expected a greeting (* OK, * PREAUTH or * BYE), got {greeting.GetType().Name}");
        }
        ObserveCode(Greeting.Code);
        ImapClientLog.Connected(_log, Greeting);

        if (_options.Security == ImapSecurity.StartTls)
        {
            await StartTlsAsync(cancellationToken).ConfigureAwait(false);
        }
        _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
        if (!_capabilitiesKnown)
        {
            await CapabilityAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>STARTTLS (RFC 3501 §6.2.1): refuse to go on in clear text if it is missing or fails.</summary>
    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        if (State != ImapConnectionState.NotAuthenticated)
        {
            throw new ImapConnectionException("STARTTLS is required but the server pre-authenticated the connection in clear text; refusing to continue");
        }
        if (!_capabilitiesKnown)
        {
            await ExecuteDirectAsync(new ImapCommandBuilder(NextTag(), "CAPABILITY").Build(), cancellationToken).ConfigureAwait(false);
        }
        if (!Supports("STARTTLS"))
        {
            throw new ImapConnectionException("STARTTLS is required but the server does not offer it; refusing to continue in clear text");
        }
        var tagged = await ExecuteDirectAsync(new ImapCommandBuilder(NextTag(), "STARTTLS").Build(), cancellationToken).ConfigureAwait(false);
        if (tagged.Status != ImapStatus.Ok)
        {
            throw new ImapConnectionException($"STARTTLS failed ({tagged.Status.ToString().ToUpperInvariant()} {tagged.Text}); refusing to continue in clear text");
        }
        // Anything the server sent after its OK arrived in clear text: an injection attempt (RFC 3501 §6.2.1).
        if (_pipe.TryRead(out var leftover))
        {
            var length = leftover.Buffer.Length;
            _pipe.AdvanceTo(leftover.Buffer.Start);
            if (length > 0)
            {
                throw new ImapConnectionException($"{length} bytes of clear text followed the STARTTLS response; refusing them");
            }
        }
        await _pipe.CompleteAsync().ConfigureAwait(false);
        _stream = await AuthenticateTlsAsync(_stream, _options, cancellationToken).ConfigureAwait(false);
        _pipe = PipeReader.Create(_stream, s_pipeOptions);
        _reader = new ImapResponseReader(_pipe, _options.Limits);
        // The capabilities before TLS must be discarded (RFC 3501 §6.2.1).
        _capabilities = FrozenSet<string>.Empty;
        _capabilitiesKnown = false;
    }

    private async Task<ImapResponse> ReadDirectAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new ImapConnectionException("server closed the connection before its greeting or response");
        }
        catch (ImapProtocolException e)
        {
            throw new ImapConnectionException($"protocol error from the server: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ImapConnectionException($"connection lost: {e.Message}", e);
        }
    }

    /// <summary>A command sent before the read loop runs (before and during STARTTLS).</summary>
    private async Task<ImapTaggedResponse> ExecuteDirectAsync(ImapCommand command, CancellationToken cancellationToken)
    {
        ImapClientLog.Sent(_log, command);
        foreach (var part in command.Parts)
        {
            await _stream.WriteAsync(part, cancellationToken).ConfigureAwait(false);
        }
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var response = await ReadDirectAsync(cancellationToken).ConfigureAwait(false);
            ImapClientLog.Received(_log, response);
            switch (response)
            {
                case ImapTaggedResponse t when t.Tag == command.Tag:
                    ObserveCode(t.Code);
                    return t;
                case ImapUntaggedResponse u:
                    Observe(u);
                    if (u is ImapUntaggedStatusResponse { Status: ImapStatus.Bye } bye)
                    {
                        throw new ImapConnectionException($"server closed the connection: BYE {bye.Text}") { Bye = bye };
                    }
                    break;
                default:
                    throw new ImapConnectionException($"unexpected response to {command.Name}: {response}");
            }
        }
    }

    private string NextTag() => "A" + Interlocked.Increment(ref _tag).ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    internal ImapCommandBuilder Command(string name) => new(NextTag(), name, _literalMode);

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var response = await _reader.ReadAsync().ConfigureAwait(false);
                if (response is null)
                {
                    Fail(ClosedByServer());
                    return;
                }
                ImapClientLog.Received(_log, response);
                Dispatch(response);
            }
        }
        catch (ImapProtocolException e)
        {
            Fail(new ImapConnectionException($"protocol error from the server: {e.Message}; connection closed", e));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or AuthenticationException or InvalidOperationException)
        {
            Fail(_loggingOut ? new ImapConnectionException("logged out", e) : new ImapConnectionException($"connection lost: {e.Message}", e) { Bye = _bye });
        }
    }

    private ImapConnectionException ClosedByServer() =>
        _loggingOut ? new ImapConnectionException("logged out")
        : _bye is { } bye ? new ImapConnectionException($"server closed the connection: BYE {bye.Text}") { Bye = bye }
        : new ImapConnectionException("server closed the connection without BYE");

    private void Dispatch(ImapResponse response)
    {
        PendingCommand? current;
        lock (_gate)
        {
            current = _current;
        }
        switch (response)
        {
            case ImapTaggedResponse tagged:
                if (current is null || current.Tag != tagged.Tag)
                {
                    throw new ImapProtocolException($"tagged response for a command we did not send: \"{tagged.Tag}\"");
                }
                lock (_gate)
                {
                    current.Answered = true;
                    // The command pipelined after DONE owns the responses from here on (RFC 2177 §3).
                    if (_next is { } next && _current == current)
                    {
                        _current = next;
                        _next = null;
                    }
                }
                current.Complete(tagged);
                break;
            case ImapContinuationResponse continuation:
                if (current is null || !current.SignalContinuation(continuation))
                {
                    throw new ImapProtocolException("continuation request (\"+\") while no command waits for one");
                }
                break;
            case ImapUntaggedResponse untagged:
                Observe(untagged);
                var claim = current?.Claim(untagged) ?? ImapClaim.None;
                if (claim != ImapClaim.None)
                {
                    current!.Add(untagged);
                }
                if (claim != ImapClaim.Result && !_unsolicited.Writer.TryWrite(untagged))
                {
                    Interlocked.Increment(ref _dropped);
                }
                break;
        }
    }

    /// <summary>Connection-level bookkeeping for any untagged response.</summary>
    private void Observe(ImapUntaggedResponse response)
    {
        switch (response)
        {
            case ImapCapabilityResponse caps:
                SetCapabilities(caps.Capabilities);
                break;
            case ImapUntaggedStatusResponse { Status: ImapStatus.Bye } bye:
                _bye = bye;
                break;
            case ImapUntaggedStatusResponse status:
                ObserveCode(status.Code);
                break;
        }
    }

    private void ObserveCode(ImapResponseCode? code)
    {
        if (code is not null && code.Is("CAPABILITY") && code.Items is not null)
        {
            SetCapabilities(code.Items);
        }
    }

    private void SetCapabilities(IEnumerable<string> capabilities)
    {
        var set = capabilities.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _capabilities = set;
        _capabilitiesKnown = true;
        _literalMode = !_options.UseNonSynchronizingLiterals ? ImapLiteralMode.Synchronizing
            : set.Contains("LITERAL+") ? ImapLiteralMode.NonSynchronizing
            : set.Contains("LITERAL-") ? ImapLiteralMode.NonSynchronizingUpTo4096
            : ImapLiteralMode.Synchronizing;
    }

    /// <summary>Marks the connection dead, fails the running command, completes <see cref="Unsolicited"/>, closes the stream.</summary>
    private void Fail(ImapConnectionException failure, bool orderly = false)
    {
        PendingCommand? current;
        PendingCommand? next;
        lock (_gate)
        {
            if (_failure is not null)
            {
                return;
            }
            _failure = failure;
            current = _current;
            next = _next;
        }
        State = ImapConnectionState.Closed;
        ImapClientLog.Ended(_log, failure.Message);
        current?.Fail(failure);
        next?.Fail(failure);
        // An orderly end (LOGOUT, Dispose) completes the channel normally; anything else with the error.
        _unsolicited.Writer.TryComplete(orderly ? null : failure);
        _closed.Cancel();
        try
        {
            _pipe.CancelPendingRead();
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // closing a broken stream may fail again; the connection is gone either way
        }
    }

    /// <summary>
    /// A command's write or wait failed. The command stream is then in an unknown state (its tagged
    /// response may still come, or half of it was written), so the connection is closed. Returns the exception
    /// to throw instead (a timeout), or null to rethrow the original (a cancellation by the caller, or
    /// a connection that had already failed); a lost connection throws from here.
    /// </summary>
    private ImapConnectionException? OnCommandFailed(Exception e, string command, CancellationToken callerToken)
    {
        switch (e)
        {
            case OperationCanceledException when _failure is null && !callerToken.IsCancellationRequested:
                var timedOut = new ImapConnectionException($"{command} got no response within {_options.CommandTimeout}; connection closed");
                Fail(timedOut);
                return timedOut;
            case OperationCanceledException when _failure is null:
                Fail(new ImapConnectionException($"{command} was cancelled; connection closed because the command stream is in an unknown state"));
                return null;
            case IOException or ObjectDisposedException or SocketException:
                Fail(new ImapConnectionException($"connection lost while sending {command}: {e.Message}", e));
                ThrowIfFailed();
                return null;
            default:
                return null;
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } f)
        {
            throw new ImapConnectionException(f.Message, f) { Bye = f.Bye };
        }
    }

    /// <summary>
    /// Sends a command and waits for its tagged response. <paramref name="claim"/> decides which
    /// untagged responses belong to its result. NO/BAD throw <see cref="ImapCommandException"/>
    /// unless <paramref name="allowFailure"/>.
    /// </summary>
    internal async Task<(ImapTaggedResponse Tagged, IReadOnlyList<ImapUntaggedResponse> Responses)> ExecuteAsync(
        ImapCommand command, Func<ImapUntaggedResponse, ImapClaim>? claim, CancellationToken cancellationToken, bool allowFailure = false)
    {
        await AcquireAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pending = Begin(command, claim);
            ImapTaggedResponse tagged;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.CommandTimeout);
                tagged = (await SendAsync(pending, command, waitForCompletion: true, timeout.Token, cancellationToken).ConfigureAwait(false))!;
            }
            finally
            {
                End(pending);
            }
            LastActivity = DateTimeOffset.UtcNow;
            ObserveCode(tagged.Code);
            if (tagged.Status != ImapStatus.Ok && !allowFailure)
            {
                throw new ImapCommandException(command.Name, tagged);
            }
            return (tagged, pending.Responses);
        }
        finally
        {
            _commandLock.Release();
        }
    }

    /// <summary>
    /// Waits for the command lock (held by the running command or IDLE session); gives up with the
    /// connection's failure as soon as the connection ends.
    /// </summary>
    internal async Task AcquireAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_commandLock.Wait(0))
        {
            return;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
        try
        {
            await _commandLock.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_failure is not null && !cancellationToken.IsCancellationRequested)
        {
            ThrowIfFailed();
        }
        if (_failure is not null)
        {
            _commandLock.Release();
            ThrowIfFailed();
        }
    }

    private PendingCommand Begin(ImapCommand command, Func<ImapUntaggedResponse, ImapClaim>? claim)
    {
        var pending = new PendingCommand(command.Tag, claim);
        lock (_gate)
        {
            ThrowIfFailed();
            _current = pending;
        }
        return pending;
    }

    private void End(PendingCommand pending)
    {
        lock (_gate)
        {
            if (_current == pending)
            {
                _current = null;
            }
        }
    }

    /// <summary>
    /// Writes the command's parts, each after a continuation request, then (optionally) waits for
    /// the tagged response. Returns the tagged response, or null when not waiting and the server
    /// answered the last part with a continuation request (IDLE).
    /// </summary>
    private async Task<ImapTaggedResponse?> SendAsync(
        PendingCommand pending, ImapCommand command, bool waitForCompletion, CancellationToken token, CancellationToken callerToken)
    {
        ImapClientLog.Sent(_log, command);
        try
        {
            for (var i = 0; i < command.Parts.Count; i++)
            {
                if (i > 0 && !await pending.WaitContinuationAsync(token).ConfigureAwait(false))
                {
                    break; // the server refused the command before wanting the rest (tagged NO/BAD)
                }
                if (i < command.Parts.Count - 1 || !waitForCompletion)
                {
                    pending.ExpectContinuation();
                }
                await _stream.WriteAsync(command.Parts[i], token).ConfigureAwait(false);
            }
            await _stream.FlushAsync(token).ConfigureAwait(false);
            if (!waitForCompletion)
            {
                return await pending.WaitContinuationAsync(token).ConfigureAwait(false) ? null : await pending.Completion.ConfigureAwait(false);
            }
            return await pending.Completion.WaitAsync(token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            if (OnCommandFailed(e, command.Name, callerToken) is { } failure) throw failure;
            throw;
        }
        catch (ImapConnectionException)
        {
            ThrowIfFailed();
            throw;
        }
    }

    /// <summary>Closes the connection at once (no LOGOUT); running commands fail with <see cref="ImapConnectionException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        Fail(new ImapConnectionException("the client was disposed"), orderly: true);
        if (_readLoop is not null)
        {
            await _readLoop.ConfigureAwait(false);
        }
        await _pipe.CompleteAsync().ConfigureAwait(false);
    }

}

/// <summary>Where an untagged response goes while a command runs (see <see cref="ImapClient"/>).</summary>
internal enum ImapClaim
{
    /// <summary>Not the command's: to <see cref="ImapClient.Unsolicited"/> only.</summary>
    None,

    /// <summary>Part of the command's result only.</summary>
    Result,

    /// <summary>Part of the result and also mailbox state the unsolicited consumer must see.</summary>
    ResultAndUnsolicited,
}

/// <summary>A command in flight: its tag, the untagged responses it claimed, its continuation and completion signals.</summary>
internal sealed class PendingCommand
{
    // Continuations run on the read loop's thread, like the unsolicited channel's (see ImapClient's constructor).
    private readonly TaskCompletionSource<ImapTaggedResponse> _done = new(TaskCreationOptions.None);
    private readonly Func<ImapUntaggedResponse, ImapClaim>? _claim;
    private TaskCompletionSource<bool>? _continuation;
    private List<ImapUntaggedResponse>? _responses;

    public PendingCommand(string tag, Func<ImapUntaggedResponse, ImapClaim>? claim)
    {
        Tag = tag;
        _claim = claim;
    }

    public string Tag { get; }

    /// <summary>Its tagged response was read (set under the client's lock, before <see cref="Completion"/> completes).</summary>
    public bool Answered { get; set; }

    public Task<ImapTaggedResponse> Completion => _done.Task;

    public IReadOnlyList<ImapUntaggedResponse> Responses => (IReadOnlyList<ImapUntaggedResponse>?)_responses ?? [];

    public ImapClaim Claim(ImapUntaggedResponse response) => _claim?.Invoke(response) ?? ImapClaim.None;

    public void Add(ImapUntaggedResponse response) => (_responses ??= []).Add(response);

    public void ExpectContinuation() =>
        Volatile.Write(ref _continuation, new TaskCompletionSource<bool>(TaskCreationOptions.None));

    public bool SignalContinuation(ImapContinuationResponse response)
    {
        var c = Interlocked.Exchange(ref _continuation, null);
        return c is not null && c.TrySetResult(true);
    }

    /// <summary>True when "+" came, false when the command completed instead.</summary>
    public async Task<bool> WaitContinuationAsync(CancellationToken cancellationToken)
    {
        var c = Volatile.Read(ref _continuation);
        if (c is null)
        {
            return true; // already signalled
        }
        var first = await Task.WhenAny(c.Task, _done.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (first == _done.Task)
        {
            await _done.Task.ConfigureAwait(false); // rethrows a connection failure
            return false;
        }
        return true;
    }

    public void Complete(ImapTaggedResponse response)
    {
        _done.TrySetResult(response);
    }

    public void Fail(Exception e)
    {
        _done.TrySetException(e);
        _continuation?.TrySetException(e);
    }
}
