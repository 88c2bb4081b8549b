using System.Buffers;

namespace Fantasy.Actors.Streams;

/// <summary>
/// Buffers for reassembling inbound messages: the shared array pool up to <see cref="PooledMax"/>, plain arrays
/// above it. The shared pool keeps what it lends, per size and core: a few messages of many MiB (a response
/// object echoing a long <c>instructions</c>) would otherwise stay in the process as pooled buffers of that size.
/// </summary>
internal static class MessageBuffers
{
    internal const int PooledMax = 1024 * 1024;

    public static byte[] Rent(int length) =>
        length <= PooledMax ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= PooledMax)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
