import Synchronization

/// Replaces every registered secret (database passwords, AWS secret keys, tokens) with
/// `<redacted>` in text that is about to be logged or printed. The agent registers each secret as
/// it reads its config, before anything can log.
public final class SecretRedactor: Sendable {
    /// The process-wide redactor the log handler uses.
    package static let shared = SecretRedactor()

    /// Secrets shorter than this are not searched for: replacing one or two characters everywhere
    /// would make logs unreadable, and such a secret protects nothing.
    package static let minimumLength = 4
    package static let replacement = "<redacted>"

    private let secrets = Mutex([String]())

    package init() {}

    package func register(_ secret: String) {
        guard secret.count >= Self.minimumLength else { return }
        secrets.withLock { list in
            if !list.contains(secret) {
                list.append(secret)
                // Longest first, so a secret containing another is replaced whole.
                list.sort { $0.count > $1.count }
            }
        }
    }

    package func redact(_ text: String) -> String {
        let list = secrets.withLock { $0 }
        var text = text
        for secret in list where text.contains(secret) {
            text = text.replacing(secret, with: Self.replacement)
        }
        return text
    }
}
