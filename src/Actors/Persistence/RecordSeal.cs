using System.Security.Cryptography;
using System.Text;

namespace Fantasy.Actors.Persistence;

/// <summary>
/// The at-rest form of a session's records: plain (<c>0x01</c> then the JSON) or, with an encryption key,
/// AES-GCM (<c>0x02</c>, 12-byte nonce, 16-byte tag, ciphertext) under a key derived per tenant (HKDF-SHA256 of the
/// configured key), with the record's persistence id as associated data: a record cannot be read with another
/// tenant's key, nor moved to another session unnoticed.
/// </summary>
internal sealed class RecordSeal
{
    private const byte Plain = 1;
    private const byte Sealed = 2;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[]? key;

    /// <param name="masterKey">The configured 256-bit key; empty: records are written plain.</param>
    /// <param name="tenant">The tenant whose key is derived.</param>
    public RecordSeal(ReadOnlyMemory<byte> masterKey, string tenant)
    {
        if (!masterKey.IsEmpty)
        {
            key = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.ToArray(), 32, salt: [], info: Encoding.UTF8.GetBytes("fantasy-actors/records/" + tenant));
        }
    }

    public byte[] Close(ReadOnlySpan<byte> json, string persistenceId)
    {
        if (key is null)
        {
            var plain = new byte[json.Length + 1];
            plain[0] = Plain;
            json.CopyTo(plain.AsSpan(1));
            return plain;
        }

        var bytes = new byte[1 + NonceSize + TagSize + json.Length];
        bytes[0] = Sealed;
        var nonce = bytes.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(nonce, json, bytes.AsSpan(1 + NonceSize + TagSize), bytes.AsSpan(1 + NonceSize, TagSize), Encoding.UTF8.GetBytes(persistenceId));
        return bytes;
    }

    /// <exception cref="CryptographicException">The record is encrypted and there is no key, or not with this key for this session.</exception>
    public ReadOnlyMemory<byte> Open(byte[] bytes, string persistenceId)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            throw new CryptographicException("an empty session record");
        }

        switch (bytes[0])
        {
            case Plain:
                return bytes.AsMemory(1);
            case Sealed when key is null:
                throw new CryptographicException(
                    $"the records of {persistenceId} are encrypted and no fantasy.persistence.encryption-key (Fantasy:Persistence:EncryptionKey) is configured");
            case Sealed:
                var plain = new byte[bytes.Length - 1 - NonceSize - TagSize];
                using (var gcm = new AesGcm(key, TagSize))
                {
                    gcm.Decrypt(bytes.AsSpan(1, NonceSize), bytes.AsSpan(1 + NonceSize + TagSize), bytes.AsSpan(1 + NonceSize, TagSize), plain, Encoding.UTF8.GetBytes(persistenceId));
                }

                return plain;
            default:
                throw new CryptographicException($"a session record of {persistenceId} in an unknown format ({bytes[0]})");
        }
    }
}
