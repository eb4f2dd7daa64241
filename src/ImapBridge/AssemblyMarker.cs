namespace Aggregators.ImapBridge;

internal static class AssemblyMarker
{
}
