namespace Aggregators.Pna.Ingest;

/// <summary>
/// Remembers the last N event ids per source so a repeat (at-least-once delivery from a bridge
/// that retried) is recognised and not dispatched twice. Bounded: the oldest id is forgotten
/// when the window is full. Thread-safe.
/// </summary>
internal sealed class DuplicateFilter
{
    private readonly int _window;
    private readonly Dictionary<string, SourceWindow> _sources = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public DuplicateFilter(int window) => _window = window;

    public bool Enabled => _window > 0;

    /// <summary>The window of one source; lock it while calling its methods.</summary>
    public SourceWindow For(string source)
    {
        lock (_lock)
        {
            if (!_sources.TryGetValue(source, out var w))
            {
                w = new SourceWindow(_window);
                _sources[source] = w;
            }
            return w;
        }
    }

    internal sealed class SourceWindow
    {
        // id -> generation of its entry in the ring; a ring slot only evicts its own generation,
        // so an id forgotten and re-seen is not evicted early by its older slot.
        private readonly Dictionary<string, long> _seen;
        private readonly (string Id, long Generation)[] _ring;
        private int _next;
        private long _generation;

        public SourceWindow(int capacity)
        {
            _seen = new Dictionary<string, long>(Math.Min(capacity, 4096), StringComparer.Ordinal);
            _ring = new (string, long)[capacity];
        }

        public Lock Lock { get; } = new();

        /// <summary>Records <paramref name="id"/>; false when it is already in the window (a duplicate).</summary>
        public bool TryAdd(string id)
        {
            if (_seen.ContainsKey(id))
            {
                return false;
            }
            ref var slot = ref _ring[_next];
            if (slot.Id is { } old && _seen.TryGetValue(old, out var g) && g == slot.Generation)
            {
                _seen.Remove(old);
            }
            var generation = ++_generation;
            slot = (id, generation);
            _seen[id] = generation;
            _next = (_next + 1) % _ring.Length;
            return true;
        }

        /// <summary>Forgets ids recorded for a batch that was then not accepted (queue full, shutting down).</summary>
        public void Forget(string id) => _seen.Remove(id);
    }
}
