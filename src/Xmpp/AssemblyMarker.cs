namespace Aggregators.Xmpp;

internal static class AssemblyMarker
{
}
