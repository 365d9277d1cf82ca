#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import ObsCore
import Logging

/// What both executables do before anything runs: read the config (file or environment), register
/// its secrets for redaction, and set up JSON logging.
public enum AgentLaunch {
    /// Reads the config from `path`, or from the environment when `path` is nil. Registers every
    /// secret with ``SecretRedactor/shared``.
    public static func loadConfig(path: String?, environment: [String: String]) throws(ConfigError) -> AgentConfig {
        let config: AgentConfig
        if let path {
            config = try AgentConfig.load(path: path, environment: environment)
        } else {
            config = try AgentConfig.fromEnvironment(environment)
        }
        for secret in config.secrets { SecretRedactor.shared.register(secret) }
        if let secret = environment["AWS_SECRET_ACCESS_KEY"] { SecretRedactor.shared.register(secret) }
        if let token = environment["AWS_SESSION_TOKEN"] { SecretRedactor.shared.register(token) }
        return config
    }

    /// JSON lines on stdout at `level`; call once.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }

    /// Writes a one-line error to standard error.
    public static func fail(_ program: String, _ message: String) {
        let line = Array("\(program): \(SecretRedactor.shared.redact(message))\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
