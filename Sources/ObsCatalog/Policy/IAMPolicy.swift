import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The least-privilege IAM policy of an agent: PutMetricData only into the namespaces its sources
/// emit, the X-Ray calls it makes when it stands in for the daemon, and ListMetrics for
/// `obs-agent check`.
public struct IAMPolicy: Sendable {
    /// What the agent does under a config.
    public struct Needs: Sendable, Equatable {
        /// The namespaces it puts metrics into.
        package var namespaces: [String]
        /// Whether it sends trace segments and forwards sampling calls.
        package var xray: Bool
        /// CloudWatch Logs groups it writes to, as ARNs (the journald source, when configured).
        package var logGroupARNs: [String]

        package init(namespaces: [String], xray: Bool, logGroupARNs: [String] = []) {
            self.namespaces = namespaces
            self.xray = xray
            self.logGroupARNs = logGroupARNs
        }
    }

    package let needs: Needs

    package init(needs: Needs) {
        self.needs = needs
    }

    /// The policy document.
    package func document() -> [String: Any] {
        var statements: [[String: Any]] = [
            [
                "Sid": "PutObsMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
                // StringLike when a namespace is a pattern (`*`: the EMF source with no namespaces listed).
                "Condition": [
                    (needs.namespaces.contains { $0.contains("*") } ? "StringLike" : "StringEquals"): [
                        "cloudwatch:namespace": needs.namespaces.sorted()
                    ]
                ],
            ],
            ["Sid": "AgentCheck", "Effect": "Allow", "Action": "cloudwatch:ListMetrics", "Resource": "*"],
        ]
        if needs.xray {
            statements.append([
                "Sid": "XRayDaemon", "Effect": "Allow",
                "Action": ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTraceSegments"],
                "Resource": "*",
            ])
        }
        if !needs.logGroupARNs.isEmpty {
            statements.append([
                "Sid": "ShipJournal", "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                ],
                "Resource": needs.logGroupARNs.flatMap { [$0, "\($0):log-stream:*"] },
            ])
        }
        return ["Version": "2012-10-17", "Statement": statements]
    }

    package func json() throws -> Data {
        try JSONDocument.data(document())
    }
}
