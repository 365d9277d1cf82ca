import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Caches a provider's credentials and fetches new ones before they expire: five minutes ahead,
/// as the SDKs do, so a request is never signed with credentials about to lapse. When a refresh
/// fails while the cached credentials are still valid, they keep being used.
public final class RefreshingCredentials: Sendable {
    /// How long before expiry credentials are refreshed.
    package static let refreshAhead: TimeInterval = 300

    package let provider: any CredentialProvider
    private let cached = Mutex<ExpiringCredentials?>(nil)
    private let onNewSecret: @Sendable (String) -> Void

    /// - Parameter onNewSecret: called with every secret key and token obtained, so that it can be
    ///   kept out of logs.
    package init(_ provider: any CredentialProvider, onNewSecret: @escaping @Sendable (String) -> Void = { _ in }) {
        self.provider = provider
        self.onNewSecret = onNewSecret
    }

    /// Credentials valid for at least `refreshAhead` more seconds, fetching new ones when needed.
    package func current(now: Date = Date()) async throws(CredentialError) -> AWSCredentials {
        if let cached = cached.withLock({ $0 }), !Self.needsRefresh(cached, now: now) {
            return cached.credentials
        }
        do {
            let fresh = try await provider.fetch()
            onNewSecret(fresh.credentials.secretAccessKey)
            if let token = fresh.credentials.sessionToken { onNewSecret(token) }
            cached.withLock { $0 = fresh }
            return fresh.credentials
        } catch {
            if let cached = cached.withLock({ $0 }), cached.expiration.map({ $0 > now }) ?? true {
                return cached.credentials
            }
            throw error
        }
    }

    static func needsRefresh(_ credentials: ExpiringCredentials, now: Date) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSince(now) < refreshAhead
    }
}
