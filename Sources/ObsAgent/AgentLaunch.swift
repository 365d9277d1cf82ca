import CObsNet
import FoundationEssentials
import Logging
import ObsCore
import ObsSource

#if canImport(Glibc)
    import Glibc
#endif

/// What both executables do before anything runs: read the config (file or environment), register
/// its secrets for redaction, and set up JSON logging.
public enum AgentLaunch {
    /// Reads the config from `path`, or from the environment when `path` is nil. Registers every
    /// secret with ``SecretRedactor/shared``.
    package static func loadConfig(path: String?, environment: [String: String]) throws(ConfigError) -> AgentConfig {
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

    /// Allocations of 128 KiB and more (log batches of up to 1 MiB, request bodies, responses)
    /// are mapped on their own and given back to the system when freed. glibc's default raises
    /// that threshold each time such a block is freed, after which freed batches stay in the heap:
    /// the agent shipping a 1,000,000-entry journal held 17.8 MB of anonymous memory at the end
    /// instead of 5.7 MB (BENCHMARKS.md). Call once, before anything allocates much.
    package static func tuneMemory() {
        _ = obs_set_mmap_threshold(128 * 1024)
    }

    /// JSON lines on stdout at `level`; call once.
    package static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }

    /// Writes a one-line error to standard error.
    package static func fail(_ program: String, _ message: String) {
        StandardOutput.writeErrorLine("\(program): \(SecretRedactor.shared.redact(message))")
    }
}
