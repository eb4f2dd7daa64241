using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Aggregators.Pna.Operations;

/// <summary>
/// A small exporter of this host's "Aggregators.Pna" instruments in the Prometheus text format
/// (exposition format 0.0.4): counters are summed per tag set, gauges read at scrape time.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Meter _meter;
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, long>> _sums = new();
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, long>> _gauges = new();

    public PrometheusExporter(PnaMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _meter = metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, _meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var key = LabelKey(tags);
        if (instrument is ObservableGauge<long>)
        {
            _gauges.GetOrAdd(instrument, _ => new())[key] = value;
            return;
        }
        _sums.GetOrAdd(instrument, _ => new()).AddOrUpdate(key, value, (_, old) => old + value);
    }

    private static string LabelKey(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }
        var sb = new StringBuilder("{");
        for (var i = 0; i < tags.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append(Sanitize(tags[i].Key)).Append("=\"");
            // Exposition format: backslash, double quote and line feed are escaped in label values.
            foreach (var c in Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "")
            {
                _ = c switch
                {
                    '\\' => sb.Append(@"\\"),
                    '"' => sb.Append("\\\""),
                    '\n' => sb.Append(@"\n"),
                    _ => sb.Append(c),
                };
            }
            sb.Append('"');
        }
        return sb.Append('}').ToString();
    }

    private static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }
        return sb.ToString();
    }

    /// <summary>Writes every instrument in the text format.</summary>
    public string Scrape()
    {
        _listener.RecordObservableInstruments();
        var sb = new StringBuilder();
        foreach (var (instrument, values) in _sums.OrderBy(p => p.Key.Name, StringComparer.Ordinal))
        {
            var name = Sanitize(instrument.Name) + "_total";
            Write(sb, name, "counter", instrument.Description, values);
        }
        foreach (var (instrument, values) in _gauges.OrderBy(p => p.Key.Name, StringComparer.Ordinal))
        {
            Write(sb, Sanitize(instrument.Name), "gauge", instrument.Description, values);
        }
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, string name, string type, string? help, ConcurrentDictionary<string, long> values)
    {
        if (!string.IsNullOrEmpty(help))
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal)).Append('\n');
        }
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sb.Append(name).Append(labels).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    public void Dispose() => _listener.Dispose();
}
