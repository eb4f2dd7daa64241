using System.Net;

namespace Aggregators.Sip.Transport;

public sealed partial class SipStreamTransport
{
    private readonly Dictionary<IPEndPoint, int> _pins = [];
    private readonly Lock _pinLock = new();

    /// <summary>
    /// Keeps the connection with <paramref name="remote"/> (and any later one with it) out of the
    /// idle sweep until the returned handle is disposed; pins count, so each live dialog over the
    /// connection holds one. A peer behind NAT can only be reached on the connection it opened
    /// (RFC 5626 §3.3; RFC 3261 §18.2.2 sends responses, and in practice in-dialog requests, back
    /// on it), so a connection carrying a subscription must not be closed for being quiet.
    /// </summary>
    public IDisposable Pin(IPEndPoint remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        lock (_pinLock)
        {
            _pins[remote] = _pins.GetValueOrDefault(remote) + 1;
        }
        return new PinHandle(this, remote);
    }

    /// <summary>Whether a live dialog pins the connection with <paramref name="remote"/>.</summary>
    public bool IsPinned(IPEndPoint remote)
    {
        lock (_pinLock)
        {
            return _pins.ContainsKey(remote);
        }
    }

    private void Unpin(IPEndPoint remote)
    {
        lock (_pinLock)
        {
            if (!_pins.TryGetValue(remote, out var count)) return;
            if (count <= 1) _pins.Remove(remote);
            else _pins[remote] = count - 1;
        }
    }

    private sealed class PinHandle(SipStreamTransport transport, IPEndPoint remote) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) transport.Unpin(remote);
        }
    }
}
