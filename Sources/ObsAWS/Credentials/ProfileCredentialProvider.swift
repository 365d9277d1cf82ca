import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keys from the shared files: `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) and
/// `~/.aws/config` (`AWS_CONFIG_FILE`), profile `AWS_PROFILE` (else `default`). The credentials
/// file wins for a key both files set. Profiles that assume a role are not followed.
public struct ProfileCredentialProvider: CredentialProvider {
    public let name = "profile"
    package let profile: String
    package let credentialsFile: String
    package let configFile: String

    package init(environment: [String: String]) {
        let home = environment["HOME"] ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) } ?? "/"
        profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        configFile = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
    }

    /// Whether either file has the profile (so the chain uses this provider).
    package var isConfigured: Bool {
        section(in: credentialsFile, named: profile) != nil
            || section(in: configFile, named: profile == "default" ? "default" : "profile \(profile)") != nil
    }

    public func fetch() async throws(CredentialError) -> ExpiringCredentials {
        var keys = section(in: configFile, named: profile == "default" ? "default" : "profile \(profile)") ?? [:]
        keys.merge(section(in: credentialsFile, named: profile) ?? [:]) { _, fromCredentials in fromCredentials }
        guard let id = keys["aws_access_key_id"], let secret = keys["aws_secret_access_key"] else {
            throw CredentialError(name, "profile \(profile) has no aws_access_key_id and aws_secret_access_key")
        }
        return ExpiringCredentials(
            AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: keys["aws_session_token"]))
    }

    /// The keys of section `[name]` of an INI file, or nil when the file or section is missing.
    func section(in path: String, named name: String) -> [String: String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var current: String?
        var found: [String: String]?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingBlanks()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingBlanks()
                if current == name && found == nil { found = [:] }
                continue
            }
            guard current == name, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingBlanks().lowercased()
            let value = line[line.index(after: equals)...].trimmingBlanks()
            found?[key] = value
        }
        return found
    }
}
