namespace Aggregators.Sip;

internal static class AssemblyMarker
{
}
