import Foundation

/// The rules of the CloudWatch Embedded Metric Format specification, checked on one event, for
/// tests: what the JSON schema says and the semantic MUSTs it cannot express (100 definitions,
/// 100 values, targets present and of the right type, no nested targets).
enum EMFValidator {
    static let units: Set<String> = [
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
        "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
        "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    ]

    /// The rules the event breaks; empty when it is valid.
    static func violations(_ text: String) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return ["not a JSON object"]
        }
        guard let aws = object["_aws"] as? [String: Any] else { return ["no _aws member"] }
        var problems: [String] = []
        if (aws["Timestamp"] as? Int) == nil {
            problems.append("_aws.Timestamp missing or not an integer")
        }
        guard let directives = aws["CloudWatchMetrics"] as? [[String: Any]] else {
            return problems + ["_aws.CloudWatchMetrics missing"]
        }
        for directive in directives {
            guard let namespace = directive["Namespace"] as? String, (1...1024).contains(namespace.count) else {
                problems.append("Namespace missing or of bad length")
                continue
            }
            guard let sets = directive["Dimensions"] as? [[Any]], !sets.isEmpty else {
                problems.append("Dimensions missing or empty")
                continue
            }
            for set in sets {
                if set.count > 30 { problems.append("dimension set of \(set.count) keys") }
                for key in set {
                    guard let key = key as? String, (1...250).contains(key.count) else {
                        problems.append("dimension key not a 1-250 character string")
                        continue
                    }
                    guard let value = object[key] else {
                        problems.append("dimension target \(key) missing")
                        continue
                    }
                    guard let string = value as? String else {
                        problems.append("dimension target \(key) not a string")
                        continue
                    }
                    if string.count > 1024 { problems.append("dimension value \(key) over 1024 characters") }
                }
            }
            guard let metrics = directive["Metrics"] as? [[String: Any]] else {
                problems.append("Metrics missing")
                continue
            }
            if metrics.count > 100 { problems.append("\(metrics.count) metric definitions") }
            for metric in metrics {
                guard let name = metric["Name"] as? String, (1...1024).contains(name.count) else {
                    problems.append("metric Name missing")
                    continue
                }
                if let unit = metric["Unit"] {
                    if !((unit as? String).map(units.contains) ?? false) { problems.append("bad unit \(unit)") }
                }
                if let resolution = metric["StorageResolution"] as? Int, resolution != 1 && resolution != 60 {
                    problems.append("bad StorageResolution")
                }
                switch object[name] {
                case is NSNumber:
                    break
                case let array as [Any]:
                    if array.count > 100 { problems.append("metric \(name) has \(array.count) values") }
                    if !array.allSatisfy({ $0 is NSNumber }) {
                        problems.append("metric \(name) has a non-numeric value")
                    }
                case nil:
                    problems.append("metric target \(name) missing")
                default:
                    problems.append("metric target \(name) not numeric")
                }
            }
        }
        return problems
    }
}
