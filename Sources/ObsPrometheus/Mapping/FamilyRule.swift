import ObsCatalog

/// What the agent makes of one metric family of a scrape. Every family not listed here is read
/// and ignored. Counter families are found with or without `_total` (the Keycloak metrics SPI
/// changed names between releases, and 0.0.4 keeps `_total` in the family name where OpenMetrics
/// drops it).
///
/// | Family | Becomes |
/// |---|---|
/// | `hikaricp_connections{,_active,_idle,_pending,_max,_min}{pool}` | Obs/Pool Connections, ActiveConnections, IdleConnections, PendingThreads, MaxConnections, MinConnections; Utilization = active / max |
/// | `hikaricp_connections_timeout_total{pool}` | Obs/Pool Timeouts (per-interval delta) |
/// | `hikaricp_connections_{acquire,usage,creation}_seconds{pool}` (+ `_max`) | Obs/Pool AcquireTime, UsageTime, CreationTime (ms distributions) |
/// | `agroal_{active,available,awaiting}_count{datasource}` | Obs/Pool ActiveConnections, IdleConnections, PendingThreads; Connections = active + available |
/// | `http_server_requests_seconds{method,uri,status}` (+ `_max`) | Obs/API Requests, Errors (4xx), Faults (5xx), Throttles (429), Latency; ErrorRate per service |
/// | `keycloak_logins{realm,client_id}` | Obs/Auth LoginSuccess |
/// | `keycloak_failed_login_attempts{realm,client_id,error}` | Obs/Auth LoginFailure (Reason = error); AuthFailureRate |
/// | `keycloak_{client_login_attempts,refresh_tokens,code_to_tokens,registrations}` and their `_errors` / `failed_` twins | Obs/Auth AuthEvents, AuthEventErrors (Event, Reason) |
/// | `keycloak_user_events_total{realm,client_id,event,error}` | the same, by `event` and `error` |
enum FamilyRule: Hashable, Sendable {
    case poolGauge(PoolGauge, pool: PoolLabel)
    case poolTimeouts
    case poolTimer(PoolTimer)
    case poolTimerMax(PoolTimer)
    case httpRequests
    case httpRequestsMax
    case keycloakLogins
    case keycloakFailedLogins
    case keycloakEvent(AuthEvent, failed: Bool)
    case keycloakUserEvents

    enum PoolGauge: UInt8, Sendable, CaseIterable {
        case connections, active, idle, pending, max, min
    }

    /// The label that names the pool.
    enum PoolLabel: UInt8, Sendable {
        /// HikariCP through Micrometer: `pool`.
        case hikari
        /// Agroal (Quarkus, Keycloak): `datasource`.
        case agroal
    }

    enum PoolTimer: UInt8, Sendable, CaseIterable {
        case acquire, usage, creation

        var definition: MetricDefinition {
            switch self {
            case .acquire: return PoolMetrics.acquireTime
            case .usage: return PoolMetrics.usageTime
            case .creation: return PoolMetrics.creationTime
            }
        }
    }

    enum AuthEvent: String, Sendable, CaseIterable {
        case clientLogin = "client_login"
        case refreshToken = "refresh_token"
        case codeToToken = "code_to_token"
        case register
    }

    /// The rule whose per-series state a family's samples update: a timer's `_max` family feeds
    /// the state of the timer itself.
    var stateRule: FamilyRule {
        switch self {
        case .poolTimerMax(let timer): return .poolTimer(timer)
        case .httpRequestsMax: return .httpRequests
        default: return self
        }
    }

    /// A byte that tells the state keys of different rules apart.
    var tag: UInt8 {
        switch self {
        case .poolGauge(let gauge, let pool): return 0x10 + gauge.rawValue + (pool == .agroal ? 0x08 : 0)
        case .poolTimeouts: return 0x20
        case .poolTimer(let timer), .poolTimerMax(let timer): return 0x30 + timer.rawValue
        case .httpRequests, .httpRequestsMax: return 0x40
        case .keycloakLogins: return 0x50
        case .keycloakFailedLogins: return 0x51
        case .keycloakEvent(let event, let failed):
            return 0x60 + UInt8(AuthEvent.allCases.firstIndex(of: event)!) * 2 + (failed ? 1 : 0)
        case .keycloakUserEvents: return 0x70
        }
    }

    static let byFamily: [String: FamilyRule] = {
        var rules: [String: FamilyRule] = [
            "hikaricp_connections": .poolGauge(.connections, pool: .hikari),
            "hikaricp_connections_active": .poolGauge(.active, pool: .hikari),
            "hikaricp_connections_idle": .poolGauge(.idle, pool: .hikari),
            "hikaricp_connections_pending": .poolGauge(.pending, pool: .hikari),
            "hikaricp_connections_max": .poolGauge(.max, pool: .hikari),
            "hikaricp_connections_min": .poolGauge(.min, pool: .hikari),
            "hikaricp_connections_timeout": .poolTimeouts,
            "agroal_active_count": .poolGauge(.active, pool: .agroal),
            "agroal_available_count": .poolGauge(.idle, pool: .agroal),
            "agroal_awaiting_count": .poolGauge(.pending, pool: .agroal),
            "http_server_requests_seconds": .httpRequests,
            "http_server_requests_seconds_max": .httpRequestsMax,
            "keycloak_logins": .keycloakLogins,
            "keycloak_failed_login_attempts": .keycloakFailedLogins,
            "keycloak_client_login_attempts": .keycloakEvent(.clientLogin, failed: false),
            "keycloak_failed_client_login_attempts": .keycloakEvent(.clientLogin, failed: true),
            "keycloak_refresh_tokens": .keycloakEvent(.refreshToken, failed: false),
            "keycloak_refresh_tokens_errors": .keycloakEvent(.refreshToken, failed: true),
            "keycloak_code_to_tokens": .keycloakEvent(.codeToToken, failed: false),
            "keycloak_code_to_tokens_errors": .keycloakEvent(.codeToToken, failed: true),
            "keycloak_registrations": .keycloakEvent(.register, failed: false),
            "keycloak_registrations_errors": .keycloakEvent(.register, failed: true),
            "keycloak_user_events": .keycloakUserEvents,
        ]
        for timer in PoolTimer.allCases {
            let family =
                "hikaricp_connections_\(timer == .acquire ? "acquire" : timer == .usage ? "usage" : "creation")_seconds"
            rules[family] = .poolTimer(timer)
            rules[family + "_max"] = .poolTimerMax(timer)
        }
        return rules
    }()
}
