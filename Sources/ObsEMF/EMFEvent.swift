import FoundationEssentials
import ObsAWS
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// One Embedded Metric Format event, as an application writes it and the CloudWatch agent takes it
/// on port 25888: a JSON object whose `_aws` member names the metrics (`CloudWatchMetrics`: each a
/// namespace, dimension sets and metric definitions) and whose other members hold the dimension
/// values and the metric values. The event is read whole or refused whole, by the rules of the
/// specification and the limits our own EMF writer keeps (``EMFEncoder``), so what is recorded is
/// what CloudWatch would have made of it.
public struct EMFEvent: Sendable, Equatable {
    /// One metric of one dimension set, with its values.
    public struct Observation: Sendable, Equatable {
        public var namespace: String
        public var name: String
        package var unit: MetricUnit
        public var storageResolution: Int
        public var dimensions: [(name: String, value: String)]
        public var values: [Double]

        public static func == (a: Observation, b: Observation) -> Bool {
            a.namespace == b.namespace && a.name == b.name && a.unit == b.unit
                && a.storageResolution == b.storageResolution
                && a.values == b.values
                && a.dimensions.elementsEqual(b.dimensions) { $0.name == $1.name && $0.value == $1.value }
        }
    }

    /// Milliseconds since the epoch, as the event says.
    package var timestamp: Double
    public var observations: [Observation]

    /// Why an event is refused.
    public enum Problem: String, Error, Sendable, Equatable {
        case notJSON = "not a JSON object"
        case noMetadata = "no _aws object"
        case badTimestamp = "_aws.Timestamp is not a number of milliseconds"
        case noDirectives = "_aws.CloudWatchMetrics is not a non-empty list"
        case badNamespace = "a Namespace is 1 to 255 characters and does not start with AWS/"
        case badDimensions = "Dimensions is not a list of lists of 1 to 30 names"
        case badDimensionValue = "a dimension's member is not a string of 1 to 1,024 characters"
        case badMetrics = "Metrics is not a list of 1 to 100 definitions with a Name"
        case badUnit = "a Unit is not a CloudWatch unit"
        case badResolution = "a StorageResolution is not 1 or 60"
        case badValue = "a metric's member is not a finite number or a list of 1 to 100 of them"
    }

    /// Reads one event (one line).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<EMFEvent, Problem> {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), case .object(let root) = value
        else {
            return .failure(.notJSON)
        }
        guard case .object(let aws)? = root["_aws"] else { return .failure(.noMetadata) }
        guard case .number(let timestamp)? = aws["Timestamp"], timestamp.isFinite, timestamp >= 0 else {
            return .failure(.badTimestamp)
        }
        guard case .array(let directives)? = aws["CloudWatchMetrics"], !directives.isEmpty else {
            return .failure(.noDirectives)
        }
        var observations: [Observation] = []
        for directive in directives {
            guard case .object(let directive) = directive else { return .failure(.noDirectives) }
            guard case .string(let namespace)? = directive["Namespace"],
                (1...CloudWatchLimits.maxNameLength).contains(namespace.utf8.count),
                !namespace.hasPrefix("AWS/")
            else { return .failure(.badNamespace) }
            guard case .array(let sets)? = directive["Dimensions"] else { return .failure(.badDimensions) }
            var dimensionSets: [[(name: String, value: String)]] = []
            for set in sets {
                guard case .array(let keys) = set, keys.count <= EMFEncoder.maxDimensionKeys else {
                    return .failure(.badDimensions)
                }
                var dimensions: [(name: String, value: String)] = []
                for key in keys {
                    guard case .string(let key) = key,
                        (1...CloudWatchLimits.maxDimensionNameLength).contains(key.utf8.count)
                    else {
                        return .failure(.badDimensions)
                    }
                    guard case .string(let value)? = root[key],
                        (1...CloudWatchLimits.maxDimensionValueLength).contains(value.utf8.count)
                    else {
                        return .failure(.badDimensionValue)
                    }
                    dimensions.append((key, value))
                }
                dimensionSets.append(dimensions)
            }
            if dimensionSets.isEmpty { dimensionSets = [[]] }
            guard case .array(let metrics)? = directive["Metrics"],
                (1...EMFEncoder.maxMetricsPerEvent).contains(metrics.count)
            else {
                return .failure(.badMetrics)
            }
            for metric in metrics {
                guard case .object(let metric) = metric, case .string(let name)? = metric["Name"],
                    (1...CloudWatchLimits.maxNameLength).contains(name.utf8.count)
                else { return .failure(.badMetrics) }
                var unit = MetricUnit.none
                if let given = metric["Unit"] {
                    guard case .string(let text) = given, let known = MetricUnit(rawValue: text) else {
                        return .failure(.badUnit)
                    }
                    unit = known
                }
                var resolution = 60
                if let given = metric["StorageResolution"] {
                    guard case .number(let number) = given, number == 1 || number == 60 else {
                        return .failure(.badResolution)
                    }
                    resolution = Int(number)
                }
                let values: [Double]
                switch root[name] {
                case .number(let number)?: values = [number]
                case .array(let list)?:
                    guard (1...EMFEncoder.maxValuesPerMetric).contains(list.count) else { return .failure(.badValue) }
                    var numbers: [Double] = []
                    for item in list {
                        guard case .number(let number) = item else { return .failure(.badValue) }
                        numbers.append(number)
                    }
                    values = numbers
                default: return .failure(.badValue)
                }
                guard values.allSatisfy({ $0.isFinite && abs($0) <= CloudWatchLimits.maxMagnitude }) else {
                    return .failure(.badValue)
                }
                for dimensions in dimensionSets {
                    observations.append(
                        Observation(
                            namespace: namespace, name: name, unit: unit, storageResolution: resolution,
                            dimensions: dimensions, values: values))
                }
            }
        }
        return .success(EMFEvent(timestamp: timestamp, observations: observations))
    }
}

/// A JSON value, as an EMF event holds them.
enum JSONValue: Decodable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            var members: [String: JSONValue] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(members)
        } else if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let value = try? single.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? single.decode(Double.self) {
                self = .number(value)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }
}
