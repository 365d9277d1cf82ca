import ObsAWS
import ObsDelivery
import ObsSource

/// One line of `obs-agent check`: a source or sink, and whether it can be reached.
public struct CheckResult: Sendable, CustomStringConvertible {
    package var component: String
    package var target: String
    package var ok: Bool
    package var detail: String

    public var description: String {
        "\(ok ? "ok   " : "FAIL ") \(component) \(target): \(detail)"
    }
}

extension Agent {
    /// Connects to every source and sink once and reports what it found; sends no metric data.
    package func check() async -> [CheckResult] {
        var results: [CheckResult] = []
        let context = sourceContext(nil)
        for (registration, settings) in config.enabledSources {
            for line in await registration.check(settings, context) {
                results.append(
                    CheckResult(
                        component: registration.key, target: line.target, ok: line.ok,
                        detail: SecretRedactor.shared.redact(line.detail)))
            }
        }
        results.append(await checkSink())
        return results
    }

    private func checkSink() async -> CheckResult {
        let delivery: Delivery
        do {
            delivery = try makeDelivery()
        } catch {
            return CheckResult(component: "sink", target: "metrics", ok: false, detail: "\(error)")
        }
        let sink = delivery.sink
        guard let client = delivery.cloudWatch else {
            return CheckResult(
                component: "sink", target: sink.name, ok: true,
                detail: sink.name == "emf"
                    ? "EMF lines on stdout (no AWS credentials or region/endpoint)" : "nothing is sent")
        }
        let body = "Action=ListMetrics&Version=\(PutMetricDataEncoder.apiVersion)&Namespace=Obs%2FAgent"
        do {
            _ = try await client.send(
                headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(body.utf8))
            return CheckResult(
                component: "sink", target: "cloudwatch \(client.endpoint)", ok: true, detail: "ListMetrics answered")
        } catch {
            return CheckResult(
                component: "sink", target: "cloudwatch \(client.endpoint)", ok: false,
                detail: SecretRedactor.shared.redact("\(error)"))
        }
    }
}
