import Foundation
import Logging
import ObsDelivery
import ObsPostgres
import ObsPrometheus
import ObsSource
import ObsXRay
import Synchronization
import Testing

@testable import ObsAWS
@testable import ObsAgent

@Suite struct ConfigTests {
    let full = """
        agent:
          flush_interval: 30s
          log_level: debug
          cardinality_limit: 500
        metrics:
          sink: cloudwatch
        aws:
          region: eu-west-1
          endpoints:
            cloudwatch: http://127.0.0.1:4566
        sources:
          postgres:
            - instance: ecom-db
              host: ${DB_HOST}
              port: ${DB_PORT:-5432}
              database: microservices_ecom
              user: ${DB_USER}
              password: ${DB_PASSWORD}
              sslmode: require
              interval: 10s
              statement_timeout: 2s
              lock_timeout: 500ms
        """

    @Test func aFullConfigIsRead() throws {
        let config = try AgentConfig.parse(
            yaml: full, environment: ["DB_HOST": "db.internal", "DB_USER": "monitor", "DB_PASSWORD": "s3cret-pass"])
        #expect(config.flushInterval == 30)
        #expect(config.logLevel == .debug)
        #expect(config.cardinalityLimit == 500)
        #expect(config.sink == .cloudWatch)
        #expect(config.region == "eu-west-1")
        #expect(config.endpoints[.cloudWatch] == "http://127.0.0.1:4566")
        let pg = try #require(config.postgres.first)
        #expect(pg.instance == "ecom-db")
        #expect(pg.interval == 10)
        #expect(pg.connection.host == "db.internal")
        #expect(pg.connection.port == 5432)
        #expect(pg.connection.password == "s3cret-pass")
        #expect(pg.connection.sslMode == "require")
        #expect(pg.connection.statementTimeoutMilliseconds == 2000)
        #expect(pg.connection.lockTimeoutMilliseconds == 500)
        #expect(config.secrets == ["s3cret-pass"])
    }

    @Test(arguments: [
        ("${A}", ["A": "x"], "x"),
        ("${A:-fallback}", [:], "fallback"),
        ("${A:-fallback}", ["A": ""], "fallback"),
        ("${A:-}", [:], ""),
        ("pre-${A}-${B:-2}-post", ["A": "1"], "pre-1-2-post"),
        ("cost $$5", [:], "cost $5"),
        ("plain $HOME", [:], "plain $HOME"),
    ])
    func environmentExpansion(_ text: String, _ environment: [String: String], _ expected: String) throws {
        #expect(try EnvironmentExpansion.expand(text, path: "k", environment: environment) == expected)
    }

    @Test(arguments: [
        ("agent:\n  flush_interval: 60\n  colour: red\n", "config: agent.colour: unknown key"),
        ("agent:\n  flush_intervl: 60\n", "config: agent.flush_intervl: unknown key (did you mean flush_interval?)"),
        (
            "sources:\n  postgres:\n    - {host: h, port: abc, database: d, user: u}\n",
            "config: sources.postgres[0].port: expected an integer, got \"abc\""
        ),
        (
            "sources:\n  postgres:\n    - {host: h, port: 99999, database: d, user: u}\n",
            "config: sources.postgres[0].port: 99999 is out of range (1 to 65535)"
        ),
        ("sources:\n  postgres:\n    - {host: h, database: d}\n", "config: sources.postgres[0].user: required"),
        (
            "sources:\n  postgres:\n    - {host: h, database: d, user: u, password: \"${NOPE}\"}\n",
            "config: sources.postgres[0].password: environment variable NOPE is not set"
        ),
        (
            "agent:\n  flush_interval: soon\n",
            "config: agent.flush_interval: expected a duration such as 15s, 500ms or 1m, got \"soon\""
        ),
        ("metrics:\n  sink: kafka\n", "config: metrics.sink: expected one of auto, cloudwatch, emf, got \"kafka\""),
        ("aws:\n  endpoint: localhost:4566\n", "config: aws.endpoint: expected an http:// or https:// URL"),
        ("agent: [1, 2\n", "config: not valid YAML"),
        ("sources:\n  postgres: {host: h}\n", "config: sources.postgres: expected a list"),
        ("sources:\n  prometheus:\n    - {urls: [http://a:1/m]}\n", "config: sources.prometheus[0].service: required"),
        (
            "sources:\n  postgres:\n    - {host: h, database: d, user: u, sslmode: verify-full}\n",
            "config: sources.postgres[0].sslrootcert: sslmode verify-full needs sslrootcert"
        ),
        (
            "sources:\n  postgres:\n    - {host: h, database: d, user: u, sslmode: verify-full, sslrootcert: /nonexistent.pem}\n",
            "config: sources.postgres[0].sslrootcert: cannot read /nonexistent.pem"
        ),
        (
            "sources:\n  postgres:\n    - {host: h, database: d, user: u, statements_log_group: \"bad group!\"}\n",
            "config: sources.postgres[0].statements_log_group: a log group name is 1 to 512"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s}\n",
            "config: sources.prometheus[0]: give exactly one of urls, dns_a or dns_srv (got none)"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, urls: [http://a:1/m], dns_a: a:1}\n",
            "config: sources.prometheus[0]: give exactly one of urls, dns_a or dns_srv (got urls, dns_a)"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, urls: [\"http://u:pw@a:1/m\"]}\n",
            "config: sources.prometheus[0].urls[0]: credentials do not belong in the URL"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, dns_a: user-service}\n",
            "config: sources.prometheus[0].dns_a: expected host:port"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, urls: [http://a:1/m], interval: 5s, timeout: 10s}\n",
            "config: sources.prometheus[0].timeout: must not be longer than the interval (5.0 s)"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, urls: [http://a:1/m], bearer_token_file: /nonexistent/token}\n",
            "config: sources.prometheus[0].bearer_token_file: cannot read /nonexistent/token"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, urls: [http://a:1/m]}\n    - {service: s, urls: [http://b:1/m]}\n",
            "config: sources.prometheus[1].service: service \"s\" is listed twice"
        ),
        (
            "sources:\n  prometheus:\n    - {service: s, urls: [http://a:1/m], scheme: ftp}\n",
            "config: sources.prometheus[0].scheme: expected one of http, https, got \"ftp\""
        ),
    ])
    func badInputIsOneLineNamingTheKey(_ yaml: String, _ expected: String) {
        do {
            _ = try AgentConfig.parse(yaml: yaml, environment: [:])
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func scrapeJobsAreRead() throws {
        let config = try AgentConfig.parse(
            yaml: """
                agent:
                  flush_interval: 10s
                sources:
                  prometheus:
                    - service: user-service
                      dns_srv: _user-service._tcp.ecom.local
                      dns_server: 10.0.0.2:53
                      path: /actuator/prometheus
                      interval: 30s
                      timeout: 5s
                      refresh_interval: 1m
                    - service: keycloak
                      urls: [https://keycloak:8443/realms/ecom/metrics]
                      basic_auth: {username: monitor}
                      max_response_bytes: 8MiB
                    - service: product-service
                      dns_a: product-service.ecom.local:8080
                  xray:
                    api_metrics: false
                """, environment: [:])
        #expect(config.prometheus.map(\.service) == ["user-service", "keycloak", "product-service"])
        #expect(config.prometheus[0].discovery == .dnsSRV("_user-service._tcp.ecom.local"))
        #expect(config.prometheus[0].dnsServer == "10.0.0.2:53")
        #expect(
            config.prometheus[0].interval == 30 && config.prometheus[0].timeout == 5
                && config.prometheus[0].refreshInterval == 60)
        #expect(config.prometheus[1].discovery == .urls(["https://keycloak:8443/realms/ecom/metrics"]))
        #expect(config.prometheus[1].basicUsername == "monitor" && config.prometheus[1].maxResponseBytes == 8 << 20)
        #expect(config.prometheus[1].interval == 10, "defaults to the flush interval when that is shorter than 15 s")
        #expect(config.prometheus[2].discovery == .dnsA(host: "product-service.ecom.local", port: 8080))
        #expect(config.xray?.apiMetrics == false)
    }

    @Test func onlyTheFirstDatabaseOfAnInstanceSamplesTheInstanceViews() throws {
        let config = try AgentConfig.parse(
            yaml:
                "sources:\n  postgres:\n    - {instance: db1, host: h, database: a, user: u}\n    - {instance: db1, host: h, database: b, user: u}\n    - {instance: db2, host: h2, database: a, user: u}\n",
            environment: [:])
        #expect(config.postgres.map(\.samplesInstance) == [true, false, true])
        let fromVariables = try AgentConfig.fromEnvironment([
            "DB_HOST": "rds", "DB_NAME": "microservices_ecom", "DB_USER": "u",
            "KC_DB_URL": "jdbc:postgresql://rds:5432/keycloak", "KC_DB_USERNAME": "k",
        ])
        #expect(fromVariables.postgres.map(\.samplesInstance) == [true, false])
    }

    @Test func scrapeURLsFromTheEnvironment() throws {
        let config = try AgentConfig.fromEnvironment([
            "OBS_SCRAPE_URLS":
                "user-service=http://10.0.1.5:8080/actuator/prometheus, user-service=http://10.0.1.6:8080/actuator/prometheus,keycloak=http://keycloak:8080/metrics"
        ])
        #expect(config.prometheus.map(\.service) == ["user-service", "keycloak"])
        #expect(
            config.prometheus[0].discovery
                == .urls(["http://10.0.1.5:8080/actuator/prometheus", "http://10.0.1.6:8080/actuator/prometheus"]))
        #expect(throws: ConfigError.self) { try AgentConfig.fromEnvironment(["OBS_SCRAPE_URLS": "keycloak"]) }
    }

    @Test func withNoFileTheDeploymentVariablesAreRead() throws {
        let config = try AgentConfig.fromEnvironment([
            "DB_HOST": "ecom.cluster.rds.amazonaws.com", "DB_PORT": "5433", "DB_NAME": "microservices_ecom",
            "DB_USER": "ecom", "DB_PASSWORD": "pw-ecom-1234",
            "KC_DB_URL": "jdbc:postgresql://kc.cluster.rds.amazonaws.com:5432/keycloak?ssl=true",
            "KC_DB_USERNAME": "keycloak", "KC_DB_PASSWORD": "pw-kc-5678",
        ])
        #expect(config.postgres.count == 2)
        #expect(config.postgres[0].connection.port == 5433)
        #expect(config.postgres[0].connection.database == "microservices_ecom")
        #expect(config.postgres[0].instance == "ecom.cluster.rds.amazonaws.com")
        #expect(config.postgres[1].connection.host == "kc.cluster.rds.amazonaws.com")
        #expect(config.postgres[1].connection.database == "keycloak")
        #expect(config.postgres[1].connection.user == "keycloak")
        #expect(Set(config.secrets) == ["pw-ecom-1234", "pw-kc-5678"])
    }

    @Test func theSameDatabaseFromBothVariableSetsIsSampledOnce() throws {
        let config = try AgentConfig.fromEnvironment([
            "DB_HOST": "h", "DB_NAME": "keycloak", "DB_USER": "u", "KC_DB_URL_HOST": "h",
            "KC_DB_URL_DATABASE": "keycloak",
            "KC_DB_USERNAME": "u",
        ])
        #expect(config.postgres.count == 1)
    }

    @Test func aMalformedPortVariableIsNamed() {
        #expect(throws: ConfigError("DB_PORT", "expected a port number, got \"five\"")) {
            try AgentConfig.fromEnvironment(["DB_HOST": "h", "DB_PORT": "five", "DB_NAME": "d", "DB_USER": "u"])
        }
    }

    @Test func withoutCredentialsTheDefaultSinkIsEMF() throws {
        let agent = Agent(config: AgentConfig(), environment: [:], options: .init(), logger: .init(label: "t"))
        #expect(try agent.makeDelivery().sink.name == "emf")
        let spool = NSTemporaryDirectory() + "obs-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let withAWS = Agent(
            config: AgentConfig(),
            environment: [
                "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "us-east-1",
                "OBS_SPOOL_DIR": spool,
            ],
            options: .init(), logger: .init(label: "t"))
        let delivery = try withAWS.makeDelivery()
        #expect(delivery.sink.name == "cloudwatch")
        #expect(delivery.shippers.count == 1)
        let unusable = Agent(
            config: AgentConfig(),
            environment: [
                "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "us-east-1",
                "OBS_SPOOL_DIR": "/proc/obs-spool",
            ],
            options: .init(), logger: .init(label: "t"))
        #expect(throws: ConfigError.self) { try unusable.makeDelivery() }
        var explicit = AgentConfig()
        explicit.sink = .cloudWatch
        #expect(throws: ConfigError.self) {
            try Agent(config: explicit, environment: [:], options: .init(), logger: .init(label: "t")).makeDelivery()
        }
    }
}

@Suite struct RedactionTests {
    @Test func registeredSecretsNeverReachALogLine() {
        let redactor = SecretRedactor()
        redactor.register("hunter2-longer")
        redactor.register("abc")  // too short to search for
        let lines = LinesBox()
        var logger = Logging.Logger(label: "t") { label in
            JSONLogHandler(label: label, level: .trace, redactor: redactor, write: { lines.append($0) })
        }
        logger[metadataKey: "conn"] = "password=hunter2-longer host=db"
        logger.error("login failed with hunter2-longer", metadata: ["error": "auth hunter2-longer"])
        let line = lines.all.joined()
        #expect(!line.contains("hunter2-longer"))
        #expect(line.contains(SecretRedactor.replacement))
        logger.info("abc stays")
        #expect(lines.all.last?.contains("abc stays") == true, "secrets under four characters are not searched for")
    }

    @Test func logLinesAreJSON() throws {
        let lines = LinesBox()
        let logger = Logging.Logger(label: "obs-agent") { label in
            JSONLogHandler(label: label, level: .info, write: { lines.append($0) })
        }
        logger.info("hello \"world\"\n", metadata: ["k": "v"])
        logger.debug("not shown")
        #expect(lines.all.count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(lines.all[0].utf8)) as? [String: String]
        #expect(object?["msg"] == "hello \"world\"\n")
        #expect(object?["level"] == "info")
        #expect(object?["logger"] == "obs-agent")
        #expect(object?["k"] == "v")
        #expect(object?["ts"]?.hasSuffix("Z") == true)
    }
}

final class LinesBox: @unchecked Sendable {
    private let lines = Mutex([String]())
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
