namespace Fantasy.Actors.Cluster;

/// <summary>
/// A message that can cross nodes in cluster mode; bound to <see cref="ClusterSerializer"/> in <c>fantasy.conf</c>
/// (<c>akka.actor.serialization-bindings</c>).
/// </summary>
internal interface IClusterMessage
{
}
