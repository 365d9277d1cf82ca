import Foundation
import Testing

/// The obsctl binary beside obs-agent.
enum Obsctl {
    static var path: String { (TestServices.agentPath as NSString).deletingLastPathComponent + "/obsctl" }
    static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: path) }
}

/// obsctl's commands, run as a user runs them.
@Suite(.enabled(if: Obsctl.isBuilt, "needs the built obsctl"))
struct ObsctlTests {
    static var obsctl: String { Obsctl.path }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let (status, out, err) = try await ChildProcess.run(
            Self.obsctl, arguments, environment: TestServices.cleanEnvironment(environment))
        return (status, out + err)
    }

    /// Runs Python with boto3 against the local endpoint; `script` sees `cw`, a CloudWatch client.
    func boto(_ script: String, region: String) async throws -> String {
        let prelude =
            "import boto3, json, sys\ncw = boto3.client('cloudwatch', endpoint_url='\(TestServices.awsEndpoint)', region_name='\(region)', aws_access_key_id='r', aws_secret_access_key='r')\n"
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", "-c", prelude + script], environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(err)")
        return out
    }

    @Test(.enabled(if: TestServices.hasAWS, "needs the local AWS endpoint"))
    func applyPutsDashboardsAndAlarmsAndDiffFindsAChangedDashboard() async throws {
        let region = "eu-west-3"
        let environment = [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret", "AWS_REGION": region,
            "AWS_ENDPOINT_URL_CLOUDWATCH": TestServices.awsEndpoint,
        ]
        let config = TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml"
        let (status, out) = try await run(
            [
                "apply", "--config", config, "--account-id", "123456789012", "--topic-arn",
                "arn:aws:sns:eu-west-3:123456789012:oncall",
            ],
            environment: environment)
        let lines = out.split(separator: "\n")
        let expectedAlarms = try Self.checkedInAlarmCount()
        #expect(lines.filter { $0.hasPrefix("ok   PutDashboard") }.count == 6)
        #expect(lines.filter { $0.hasPrefix("ok   PutMetricAlarm") }.count == expectedAlarms)
        // moto 5 has no PutCompositeAlarm (it answers 500); everything else must have gone through.
        #expect(lines.filter { $0.hasPrefix("FAIL") }.allSatisfy { $0.hasPrefix("FAIL PutCompositeAlarm") }, "\(out)")
        #expect(status == (lines.contains { $0.hasPrefix("FAIL") } ? 1 : 0))

        let landed = try await boto(
            """
            alarms = cw.describe_alarms(AlarmNamePrefix='obs-')['MetricAlarms']
            body = json.loads(cw.get_dashboard(DashboardName='obs-api')['DashboardBody'])
            ratio = [a for a in alarms if a['AlarmName'] == 'obs-db-cache-hit-ratio-ecom-db-microservices_ecom'][0]
            p99 = [a for a in alarms if a['AlarmName'] == 'obs-api-latency-p99-user-service'][0]
            print(json.dumps({'alarms': len(alarms), 'widgets': len(body['widgets']), 'ratio': ratio['Metrics'][0]['Expression'],
                              'p99': p99.get('ExtendedStatistic'), 'dims': p99['Dimensions'],
                              'arn': [w for w in body['widgets'] if w['type'] == 'alarm'][0]['properties']['alarms'][0]}))
            """, region: region)
        let read = try JSONSerialization.jsonObject(with: Data(landed.utf8)) as! [String: Any]
        #expect(read["alarms"] as? Int == expectedAlarms)
        #expect(read["ratio"] as? String == "100*m1/(m1+m2)")
        #expect(read["p99"] as? String == "p99")
        #expect(read["dims"] as? [[String: String]] == [["Name": "Service", "Value": "user-service"]])
        #expect(read["arn"] as? String == "arn:aws:cloudwatch:eu-west-3:123456789012:alarm:obs-api")

        let same = try await run(
            ["diff", "--config", config, "--account-id", "123456789012"], environment: environment)
        #expect(same.0 == 0, "\(same.1)")
        #expect(same.1.split(separator: "\n").allSatisfy { $0.hasPrefix("same: ") })
        _ = try await boto(
            """
            body = json.loads(cw.get_dashboard(DashboardName='obs-database')['DashboardBody'])
            body['widgets'][0]['properties']['markdown'] = 'edited by hand'
            cw.put_dashboard(DashboardName='obs-database', DashboardBody=json.dumps(body))
            """, region: region)
        let changed = try await run(
            ["diff", "--config", config, "--account-id", "123456789012"], environment: environment)
        #expect(changed.0 == 1)
        #expect(changed.1.contains("differs: obs-database"))
        #expect(
            changed.1.contains("-   \"markdown\" : \"edited by hand\"")
                || changed.1.contains("- \"markdown\" : \"edited by hand\""), "\(changed.1)")
    }

    @Test func applyDryRunSendsNothing() async throws {
        let (status, out) = try await run([
            "apply", "--dry-run", "--config", TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml",
        ])
        #expect(status == 0)
        let requests = 6 + (try Self.checkedInAlarmCount()) + 5
        #expect(out.contains("dry run: \(requests) requests, nothing sent"), "6 dashboards, the alarms, 5 composites")
    }

    static func checkedInAlarmCount() throws -> Int {
        let path = TestServices.repositoryRoot.path + "/alerts/put-metric-alarm.json"
        return (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [Any])?.count
            ?? 0
    }

    @Test func theCheckedInFilesValidateAgainstTheDeploymentConfig() async throws {
        let root = TestServices.repositoryRoot.path
        let (status, out) = try await run([
            "validate", "--config", root + "/packaging/obs-agent.yaml", "--dashboards", root + "/dashboards",
            "--alerts", root + "/alerts",
        ])
        #expect(status == 0, "\(out)")
        #expect(out.hasPrefix("ok: "))
    }

    @Test func validateNamesEachProblemOnOneLine() async throws {
        let root = TestServices.repositoryRoot.path
        let directory = TestServices.temporaryDirectory("validate")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A database-only config: the API, pool and auth widgets read what it does not emit.
        let config = try TestServices.writeTemporary("sources:\n  postgres:\n    - {host: db, database: d, user: u}\n")
        // A hand edit: an alarm reading per-route latency, which has no exact series.
        var alarms =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: root + "/alerts/put-metric-alarm.json")))
            as! [[String: Any]]
        alarms.append([
            "AlarmName": "hand-made", "Namespace": "Obs/API", "MetricName": "Latency",
            "Dimensions": [["Name": "Route", "Value": "/x"]],
        ])
        alarms.append(["AlarmName": "typo", "Namespace": "Obs/API", "MetricName": "Latancy"])
        try JSONSerialization.data(withJSONObject: alarms).write(
            to: URL(fileURLWithPath: directory + "/put-metric-alarm.json"))

        let (status, out) = try await run([
            "validate", "--config", config, "--dashboards", root + "/dashboards", "--alerts", directory,
        ])
        #expect(status == 1)
        let lines = out.split(separator: "\n")
        #expect(
            lines.contains {
                $0.contains(
                    "alarm hand-made: Obs/API Latency is emitted with dimensions Method,Route,Service | Service, not Route"
                )
            })
        #expect(lines.contains { $0.contains("alarm typo: Obs/API Latancy is not a catalog metric") })
        #expect(
            lines.contains {
                $0.contains(
                    "connection-pools.json: widget \"Utilization\": Obs/Pool Utilization needs sources.prometheus, which the config does not have"
                )
            })
        #expect(!lines.contains { $0.contains("database.json") }, "the database widgets are fine")
    }

    @Test func theCheckedInDashboardsAndAlarmsAreWhatObsctlGenerates() async throws {
        let root = TestServices.repositoryRoot.path
        let config = root + "/packaging/obs-agent.yaml"
        let dashboards = try await run(["dashboards", "--config", config, "--output", root + "/dashboards", "--check"])
        #expect(dashboards.0 == 0, "\(dashboards.1)")
        let alarms = try await run(["alarms", "--config", config, "--output", root + "/alerts", "--check"])
        #expect(alarms.0 == 0, "\(alarms.1)")
    }

    @Test func theIAMPolicyFollowsTheConfig() async throws {
        let config = try TestServices.writeTemporary("sources:\n  postgres:\n    - {host: db, database: d, user: u}\n")
        let (status, out) = try await run(["iam-policy", "--config", config])
        #expect(status == 0)
        let document = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        let statements = document["Statement"] as! [[String: Any]]
        let namespaces = ((statements[0]["Condition"] as! [String: Any])["StringEquals"] as! [String: [String]])[
            "cloudwatch:namespace"]
        #expect(namespaces == ["Obs/Agent", "Obs/PostgreSQL"])
        #expect(statements.count == 3, "no X-Ray actions without sources.xray")
        #expect(
            statements.last?["Resource"] as? [String] == [
                "arn:aws:logs:*:*:log-group:/obs/postgresql/statements",
                "arn:aws:logs:*:*:log-group:/obs/postgresql/statements:log-stream:*",
            ], "the statement texts' log group, exactly")
        let full = try await run([
            "iam-policy", "--config", TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml",
        ])
        #expect(full.1.contains("xray:PutTraceSegments") && full.1.contains("\"Obs/Pool\""))
    }

    @Test func costPricesTheDeployment() async throws {
        let root = TestServices.repositoryRoot.path
        let (status, out) = try await run([
            "cost", "--config", root + "/packaging/obs-agent.yaml", "--prices",
            root + "/packaging/cloudwatch-prices.json", "--routes", "5",
        ])
        #expect(status == 0, "\(out)")
        #expect(out.contains("custom metrics (series, rollups included)"))
        #expect(out.contains("composite alarms"))
        #expect(out.contains("sent as EMF instead (metrics.sink: emf)"))
        let total = out.split(separator: "\n").first { $0.hasPrefix("total") }?.split(separator: " ").last.flatMap {
            Double($0)
        }
        #expect((total ?? 0) > 0)
        let requests = out.split(separator: "\n").first { $0.hasPrefix("Obs/API Requests") && $0.contains("Route") }
        #expect(requests?.contains("Service 4 × Route 5") == true, "\(out)")
        #expect(requests?.contains("api: Requests") == true, "the line names the widget reading it")
    }

    /// The bill of `config` as `obsctl cost --json` prints it.
    func bill(_ config: String, _ more: [String] = []) async throws -> [String: Any] {
        let root = TestServices.repositoryRoot.path
        let (status, out) = try await run(
            ["cost", "--config", config, "--prices", root + "/packaging/cloudwatch-prices.json", "--json"] + more)
        #expect(status == 0, "\(out)")
        return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    }

    /// A config the same as the packaged one, with `metrics.api_routes: false`.
    static func withoutRoutes() throws -> String {
        let packaged = try String(
            contentsOfFile: TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml", encoding: .utf8)
        return try TestServices.writeTemporary(packaged + "metrics:\n  api_routes: false\n")
    }

    /// Every series the agent publishes by default is read by a generated dashboard widget or
    /// alarm: a series nothing reads is billed for nothing.
    @Test func noDefaultSeriesIsWriteOnly() async throws {
        for config in [TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml", try Self.withoutRoutes()] {
            let estimate = try await bill(config, ["--routes", "30"])
            let lines = estimate["metrics"] as? [[String: Any]] ?? []
            #expect(lines.count > 80)
            for line in lines where (line["series"] as? Int ?? 0) > 0 {
                #expect(
                    !(line["read_by"] as? [String] ?? []).isEmpty,
                    "\(config): \(line["namespace"] ?? "") \(line["metric"] ?? "") by \(line["dimensions"] ?? "") is read by nothing"
                )
            }
        }
    }

    /// The packaged deployment (4 services, 2 databases, one realm, 30 routes a service) cost
    /// 726.51 USD a month under this model before the catalog dropped StatusClass and the series
    /// nothing read (obsctl cost --routes 30 at the commit before): at most half of it now.
    @Test func thePackagedDeploymentCostsAtMostHalfOfBefore() async throws {
        let estimate = try await bill(
            TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml", ["--routes", "30"])
        let total = try #require(estimate["total_monthly_usd"] as? Double)
        #expect(total <= 726.51 / 2, "\(total)")
        let withoutRoutes = try await bill(try Self.withoutRoutes(), ["--routes", "30"])
        #expect(try #require(withoutRoutes["total_monthly_usd"] as? Double) < total)
        #expect(withoutRoutes["api_routes"] as? Bool == false)
    }

    @Test func compareShowsWhatASwitchCosts() async throws {
        let root = TestServices.repositoryRoot.path
        let (status, out) = try await run([
            "cost", "--config", root + "/packaging/obs-agent.yaml", "--compare", try Self.withoutRoutes(), "--prices",
            root + "/packaging/cloudwatch-prices.json", "--routes", "30",
        ])
        #expect(status == 0, "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        let custom = try #require(lines.first { $0.hasPrefix("custom metrics") })
        #expect(custom.hasSuffix("-108.00"), "360 per-route series at 0.30: \(custom)")
        #expect(lines.contains { $0.hasPrefix("total (EMF route)") })
        for metric in ["Faults", "Latency", "Requests"] {
            #expect(
                lines.contains {
                    $0.hasPrefix("Obs/API \(metric) ") && $0.contains("Service,Method,Route")
                        && $0.hasSuffix(" 120        0")
                }, "\(out)")
        }
    }

    @Test func alarmsCheckFailsWhenTheFilesAreStale() async throws {
        let directory = TestServices.temporaryDirectory("alerts")
        let config = TestServices.repositoryRoot.path + "/packaging/obs-agent.yaml"
        #expect(try await run(["alarms", "--config", config, "--output", directory]).0 == 0)
        #expect(try await run(["alarms", "--config", config, "--output", directory, "--check"]).0 == 0)
        try "{}".write(toFile: directory + "/put-metric-alarm.json", atomically: true, encoding: .utf8)
        let (status, out) = try await run(["alarms", "--config", config, "--output", directory, "--check"])
        #expect(status == 1)
        #expect(out.contains("stale: \(directory)/put-metric-alarm.json (run obsctl alarms)"))
    }
}
