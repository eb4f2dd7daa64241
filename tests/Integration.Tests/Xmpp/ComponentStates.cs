using System.Threading.Channels;
using Aggregators.Xmpp.Component;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>Records a component's state changes so a test can wait for one.</summary>
public sealed class ComponentStates
{
    private readonly Channel<ComponentStateChangedEventArgs> _changes = Channel.CreateUnbounded<ComponentStateChangedEventArgs>();
    private readonly List<string> _log = [];

    public ComponentStates(XmppComponent component)
    {
        ArgumentNullException.ThrowIfNull(component);
        component.StateChanged += (_, e) =>
        {
            lock (_log)
            {
                _log.Add(e.ToString());
            }
            _changes.Writer.TryWrite(e);
        };
    }

    public string Log()
    {
        lock (_log)
        {
            return string.Join('\n', _log);
        }
    }

    /// <summary>Waits for the next change matching <paramref name="match"/>.</summary>
    public async Task<ComponentStateChangedEventArgs> WaitForAsync(Func<ComponentStateChangedEventArgs, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var e = await _changes.Reader.ReadAsync(cts.Token);
                if (match(e))
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"component state not reached within {timeout}. States:\n{Log()}");
        }
    }
}
