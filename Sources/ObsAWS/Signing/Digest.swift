import CCrypto

/// SHA-256 and HMAC-SHA-256 from OpenSSL's libcrypto (already in the process through libcurl and
/// libpq), for SigV4. Checked against FIPS 180-2 and RFC 4231 vectors (`DigestTests`) and by
/// every SigV4 test-suite case.
public enum Digest {
    package static let sha256Length = 32

    package static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &out, &length, EVP_sha256(), nil)
        }
        // Fails only without memory or with a broken libcrypto; nothing could be signed then.
        precondition(ok == 1 && length == sha256Length, "libcrypto SHA-256 failed")
        return Array(out.prefix(sha256Length))
    }

    package static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(
                    EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    m.count, &out, &length)
            }
        }
        precondition(result != nil && length == sha256Length, "libcrypto HMAC-SHA-256 failed")
        return Array(out.prefix(sha256Length))
    }
}
