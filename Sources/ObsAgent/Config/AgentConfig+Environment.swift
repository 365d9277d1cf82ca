import ObsCore
import ObsPostgres
import ObsPrometheus
import ObsSource
import ObsXRay

extension AgentConfig {
    /// The config of a deployment that has no file: the services' own database variables.
    ///
    /// - `DB_HOST`, `DB_PORT` (5432), `DB_NAME`, `DB_USER`, `DB_PASSWORD`: the application database.
    /// - Keycloak's `KC_DB_URL_HOST`, `KC_DB_URL_PORT`, `KC_DB_URL_DATABASE` (or a
    ///   `KC_DB_URL=jdbc:postgresql://host:port/db`), `KC_DB_USERNAME`, `KC_DB_PASSWORD`: the
    ///   Keycloak database, when it is another database than the first.
    /// - `OBS_DB_INSTANCE`: the DBInstance dimension (default: the host).
    /// - `OBS_FLUSH_INTERVAL`: seconds between flushes (default 60).
    /// - `AWS_XRAY_DAEMON_ADDRESS`: receive X-Ray segments on this address (as the daemon would).
    /// - `OBS_SCRAPE_URLS`: metrics endpoints to scrape, `service=url` separated by commas
    ///   (`user-service=http://user-service:8080/actuator/prometheus,keycloak=http://keycloak:8080/metrics`).
    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigError) -> AgentConfig {
        var config = AgentConfig()
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let interval = value("OBS_FLUSH_INTERVAL") {
            guard let seconds = Double(interval), seconds >= 1, seconds <= 3600 else {
                throw ConfigError("OBS_FLUSH_INTERVAL", "expected seconds from 1 to 3600, got \"\(interval)\"")
            }
            config.flushInterval = seconds
        }
        func port(_ name: String) throws(ConfigError) -> Int {
            guard let text = value(name) else { return 5432 }
            guard let port = Int(text), (1...65535).contains(port) else {
                throw ConfigError(name, "expected a port number, got \"\(text)\"")
            }
            return port
        }
        func add(host: String, port: Int, database: String?, user: String?, password: String?, variables: String)
            throws(ConfigError)
        {
            guard let database else { throw ConfigError(variables, "a database name is required") }
            guard let user else { throw ConfigError(variables, "a user is required") }
            if config.postgres.contains(where: {
                $0.connection.host == host && $0.connection.port == port && $0.connection.database == database
            }) {
                return
            }
            if let password { config.secrets.append(password) }
            let instance = value("OBS_DB_INSTANCE") ?? host
            config.postgres.append(
                PostgresSource.Settings(
                    instance: instance,
                    connection: PostgresConnectionSettings(
                        host: host, port: port, database: database, user: user, password: password),
                    interval: min(15, config.flushInterval),
                    samplesInstance: !config.postgres.contains { $0.instance == instance }))
        }
        if let address = value("AWS_XRAY_DAEMON_ADDRESS") {
            guard let (host, port) = XRaySource.Settings.parseAddress(address) else {
                throw ConfigError("AWS_XRAY_DAEMON_ADDRESS", "expected host:port, got \"\(address)\"")
            }
            config.xray = XRaySource.Settings(host: host, port: port)
        }
        if let list = value("OBS_SCRAPE_URLS") {
            for item in list.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingBlanks() }
                guard parts.count == 2, !parts[0].isEmpty,
                    parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://")
                else {
                    throw ConfigError("OBS_SCRAPE_URLS", "expected service=http://host:port/path, got \"\(item)\"")
                }
                if let index = config.prometheus.firstIndex(where: { $0.service == parts[0] }),
                    case .urls(let urls) = config.prometheus[index].discovery
                {
                    config.prometheus[index].discovery = .urls(urls + [parts[1]])
                } else {
                    var job = ScrapeJob(service: parts[0], discovery: .urls([parts[1]]))
                    job.interval = min(15, config.flushInterval)
                    job.timeout = min(10, job.interval)
                    config.prometheus.append(job)
                }
            }
        }
        if let host = value("DB_HOST") {
            try add(
                host: host, port: try port("DB_PORT"), database: value("DB_NAME"), user: value("DB_USER"),
                password: value("DB_PASSWORD"), variables: "DB_NAME/DB_USER")
        }
        var kcHost = value("KC_DB_URL_HOST")
        var kcPort = try port("KC_DB_URL_PORT")
        var kcDatabase = value("KC_DB_URL_DATABASE")
        if kcHost == nil, let url = value("KC_DB_URL"), let parsed = parseJDBC(url) {
            (kcHost, kcPort, kcDatabase) = (parsed.host, parsed.port, parsed.database)
        }
        if let kcHost {
            try add(
                host: kcHost, port: kcPort, database: kcDatabase ?? "keycloak", user: value("KC_DB_USERNAME"),
                password: value("KC_DB_PASSWORD"), variables: "KC_DB_USERNAME")
        }
        return config
    }

    /// `jdbc:postgresql://host[:port]/database[?...]`.
    static func parseJDBC(_ url: String) -> (host: String, port: Int, database: String)? {
        let prefix = "jdbc:postgresql://"
        guard url.hasPrefix(prefix) else { return nil }
        let rest = url.dropFirst(prefix.count).split(separator: "?", maxSplits: 1).first ?? ""
        let parts = rest.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let hostPort = parts[0].split(separator: ":")
        let port = hostPort.count > 1 ? Int(hostPort[1]) ?? 5432 : 5432
        return (String(hostPort[0]), port, String(parts[1]))
    }
}
