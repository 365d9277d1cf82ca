import ArgumentParser
import Foundation
import ObsAWS
import ObsAgent
import ObsCatalog
import ObsCore
import ObsNet

/// Where obsctl sends: the CloudWatch endpoint and credentials, found as the agent finds them.
struct CloudWatchTarget: ParsableArguments {
    @Option(help: "AWS region (default AWS_REGION, then AWS_DEFAULT_REGION).")
    var region: String?

    @Option(help: ArgumentHelp("The agent config naming the deployment's services and databases.", valueName: "file"))
    var config: String = "packaging/obs-agent.yaml"

    func client() throws -> (AWSClient, String) {
        let environment = ProcessInfo.processInfo.environment
        let settings = AWSSettings.resolve(environment: environment, configRegion: region)
        guard let region = settings.region ?? (settings.explicitEndpoints[.cloudWatch] != nil ? "us-east-1" : nil),
            let endpoint = settings.endpoint(for: .cloudWatch)
        else { throw ValidationError("no region: give --region or set AWS_REGION") }
        let access: AWSAccess
        do {
            access = try AWSAccess.resolve(
                settings: settings, environment: environment, userAgent: BuildInfo.obsctlUserAgent)
        } catch {
            throw ValidationError(error.description)
        }
        let client = AWSClient(
            service: .cloudWatch, endpoint: endpoint, region: region, credentials: access.credentials,
            transport: CurlTransport(label: "obsctl", userAgent: BuildInfo.obsctlUserAgent))
        return (client, region)
    }

    func send(_ client: AWSClient, _ request: QueryRequest) async throws(AWSError) -> String {
        try await client.send(headers: [QueryRequest.contentType], body: request.body).text
    }
}

/// The dashboards and alarms obsctl puts, made from the catalog and the config.
struct Generated {
    static let apiVersion = "2010-08-01"
    var dashboards: [(name: String, body: String)]
    var alarms: [[String: Any]]
    var composites: [[String: Any]]

    init(config: String, region: String, accountID: String, topic: String) throws {
        let deployment = try Deployment(config: config)
        let alarms = AlarmGenerator(targets: deployment.targets)
        let dashboards = DashboardGenerator(
            catalog: SourceRegistry.catalog, region: region, alarms: alarms, apiRoutes: deployment.config.apiRoutes)
        self.dashboards = try DashboardID.allCases.map { id in
            let json = String(decoding: try dashboards.json(for: id), as: UTF8.self)
            return (
                "obs-\(id.rawValue)",
                json.replacingOccurrences(of: DashboardGenerator.accountPlaceholder, with: accountID)
            )
        }
        self.alarms = alarms.alarms().map(alarms.request)
        self.composites = alarms.areas().map { alarms.compositeRequest($0.area, $0.alarms, topic: topic) }
    }
}

extension ObsctlCommand {
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put the dashboards and alarms to CloudWatch (signed, as the agent signs).",
            discussion: """
                Puts every dashboard (named obs-<dashboard>) with PutDashboard, every alarm with \
                PutMetricAlarm and each area's composite alarm, notifying --topic-arn, with \
                PutCompositeAlarm. The endpoint and credentials are found as the agent finds them \
                (AWS_ENDPOINT_URL_CLOUDWATCH, the SDKs' credential chain). --dry-run prints each request \
                instead of sending it.
                """)

        @OptionGroup var target: CloudWatchTarget

        @Option(help: "The AWS account id, for the alarm ARNs in dashboards' alarm widgets.")
        var accountId: String?

        @Option(help: "The SNS topic ARN the composite alarms notify.")
        var topicArn: String?

        @Flag(help: "Print the requests instead of sending them.")
        var dryRun = false

        func run() async throws {
            let region = target.region ?? ProcessInfo.processInfo.environment["AWS_REGION"] ?? "us-east-1"
            guard dryRun || (accountId != nil && topicArn != nil) else {
                throw ValidationError("give --account-id and --topic-arn (or --dry-run)")
            }
            let generated = try Generated(
                config: target.config, region: region, accountID: accountId ?? DashboardGenerator.accountPlaceholder,
                topic: topicArn ?? AlarmGenerator.topicPlaceholder)
            var requests: [(String, QueryRequest)] = generated.dashboards.map {
                (
                    $0.name,
                    QueryRequest(
                        action: "PutDashboard", version: Generated.apiVersion,
                        parameters: ["DashboardName": $0.name, "DashboardBody": $0.body])
                )
            }
            requests += generated.alarms.map {
                (
                    $0["AlarmName"] as! String,
                    QueryRequest(action: "PutMetricAlarm", version: Generated.apiVersion, parameters: $0)
                )
            }
            requests += generated.composites.map {
                (
                    $0["AlarmName"] as! String,
                    QueryRequest(action: "PutCompositeAlarm", version: Generated.apiVersion, parameters: $0)
                )
            }
            if dryRun {
                for (name, request) in requests {
                    print(
                        "\(request.action) \(name) (\(request.parameters.count) parameters, \(request.body.count) bytes)"
                    )
                }
                print("dry run: \(requests.count) requests, nothing sent")
                return
            }
            let (client, _) = try target.client()
            var failed = 0
            for (name, request) in requests {
                do {
                    _ = try await target.send(client, request)
                    print("ok   \(request.action) \(name)")
                } catch {
                    failed += 1
                    print("FAIL \(request.action) \(name): \(error)")
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how the live dashboards differ from the generated ones.",
            discussion: """
                Reads each obs-<dashboard> with GetDashboard and compares it, key by key after sorting, \
                with what obsctl apply would put. Prints the lines that differ (- live, + generated); exits \
                1 when any dashboard differs or is missing.
                """)

        @OptionGroup var target: CloudWatchTarget

        @Option(help: "The AWS account id, as given to obsctl apply.")
        var accountId: String = DashboardGenerator.accountPlaceholder

        func run() async throws {
            let (client, region) = try target.client()
            let generated = try Generated(
                config: target.config, region: region, accountID: accountId, topic: AlarmGenerator.topicPlaceholder)
            var differing = 0
            for dashboard in generated.dashboards {
                let request = QueryRequest(
                    action: "GetDashboard", version: Generated.apiVersion, parameters: ["DashboardName": dashboard.name]
                )
                let live: String
                do {
                    let answer = try await target.send(client, request)
                    live = QueryResponse.text(of: "DashboardBody", in: answer) ?? ""
                } catch {
                    if case .service(_, let code, _) = error, code == "ResourceNotFound" {
                        print("missing: \(dashboard.name)")
                        differing += 1
                        continue
                    }
                    throw error
                }
                let lines = TextDiff.lines(Self.normalized(live), Self.normalized(dashboard.body))
                if lines.isEmpty {
                    print("same: \(dashboard.name)")
                } else {
                    differing += 1
                    print("differs: \(dashboard.name)")
                    for line in lines { print("  \(line)") }
                }
            }
            if differing > 0 { throw ExitCode(1) }
        }

        /// Pretty JSON with sorted keys, so that key order and spacing do not count as differences.
        static func normalized(_ json: String) -> [String] {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
                let data = try? JSONSerialization.data(
                    withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            else { return json.split(separator: "\n").map(String.init) }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }
}

/// A line diff (longest common subsequence): `- ` lines only in the first, `+ ` only in the second.
enum TextDiff {
    static func lines(_ a: [String], _ b: [String]) -> [String] {
        let n = a.count
        let m = b.count
        var table = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var out: [String] = []
        var i = 0
        var j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] {
                i += 1
                j += 1
            } else if j < m, i == n || table[i][j + 1] >= table[i + 1][j] {
                out.append("+ " + b[j].trimmingCharacters(in: .whitespaces))
                j += 1
            } else {
                out.append("- " + a[i].trimmingCharacters(in: .whitespaces))
                i += 1
            }
        }
        return out
    }
}
