import ObsAWS

/// One StatsD line, as the CloudWatch agent reads them:
/// `name:value|type[|@sample_rate][|#key:value,key:value]`.
///
/// Types: `c` counter (the value is added; with a sample rate, value ÷ rate), `g` gauge (a `+` or
/// `-` before the value changes the last value instead of setting it), `ms` timer (and `h`, the
/// same), `s` set (the value is a member; the interval counts distinct members). Tags `key:value`
/// become dimensions; a tag without a value is ignored. Every name and value is held to
/// CloudWatch's limits here, so a line either becomes a metric CloudWatch accepts or is refused
/// with the reason.
public struct StatsDLine: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case counter = "c"
        case gauge = "g"
        case timer = "ms"
        case set = "s"
    }

    public var name: String
    public var kind: Kind
    /// The number (unused for sets).
    public var value: Double
    /// For a gauge: whether `value` changes the last value (it was written with a sign).
    package var isDelta: Bool
    /// For a set: the member.
    package var member: String
    /// In (0, 1]: the share of events the client sent.
    public var sampleRate: Double
    /// Dimensions, sorted by name (one value a name: the last one given).
    public var tags: [(name: String, value: String)]

    public static func == (a: StatsDLine, b: StatsDLine) -> Bool {
        a.name == b.name && a.kind == b.kind && a.value == b.value && a.isDelta == b.isDelta && a.member == b.member
            && a.sampleRate == b.sampleRate
            && a.tags.elementsEqual(b.tags) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Why a line is refused.
    public enum Problem: String, Error, Sendable, Equatable {
        case notUTF8 = "not UTF-8"
        case noValue = "no name:value"
        case badName = "a metric name is 1 to 255 characters, no control characters"
        case badValue = "the value is not a finite number"
        case badType = "the type is not c, g, ms, h or s"
        case badSampleRate = "the sample rate is not in (0, 1]"
        case badTag = "a tag name is 1 to 255 characters and a value 1 to 1,024, no control characters"
        case tooManyTags = "more than 30 tags"
        case unknownField = "a field after the type is neither @rate nor #tags"
    }

    /// Parses one line (no newline).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<StatsDLine, Problem> {
        guard let text = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            return .failure(.notUTF8)
        }
        return parse(text)
    }

    public static func parse(_ text: String) -> Result<StatsDLine, Problem> {
        var fields = text.split(separator: "|", omittingEmptySubsequences: false)[...]
        guard let head = fields.popFirst(), let colon = head.firstIndex(of: ":") else { return .failure(.noValue) }
        let name = String(head[..<colon])
        let valueText = head[head.index(after: colon)...]
        guard isValidName(name, limit: CloudWatchLimits.maxNameLength) else { return .failure(.badName) }
        guard let typeText = fields.popFirst() else { return .failure(.badType) }
        let kind: Kind
        switch typeText {
        case "c": kind = .counter
        case "g": kind = .gauge
        case "ms", "h": kind = .timer
        case "s": kind = .set
        default: return .failure(.badType)
        }
        var line = StatsDLine(name: name, kind: kind, value: 0, isDelta: false, member: "", sampleRate: 1, tags: [])
        if kind == .set {
            guard !valueText.isEmpty, valueText.utf8.count <= CloudWatchLimits.maxDimensionValueLength else {
                return .failure(.badValue)
            }
            line.member = String(valueText)
        } else {
            guard let value = Double(valueText), value.isFinite, !valueText.hasPrefix("0x"),
                !valueText.hasPrefix("+0x"), !valueText.hasPrefix("-0x")
            else {
                return .failure(.badValue)
            }
            line.value = value
            line.isDelta = kind == .gauge && (valueText.first == "+" || valueText.first == "-")
        }
        var tags: [String: String] = [:]
        for field in fields {
            if field.first == "@" {
                guard let rate = Double(field.dropFirst()), rate > 0, rate <= 1 else { return .failure(.badSampleRate) }
                line.sampleRate = rate
            } else if field.first == "#" {
                for tag in field.dropFirst().split(separator: ",") {
                    guard let colon = tag.firstIndex(of: ":") else { continue }  // a tag without a value: ignored
                    let key = String(tag[..<colon])
                    let value = String(tag[tag.index(after: colon)...])
                    guard isValidName(key, limit: CloudWatchLimits.maxDimensionNameLength),
                        isValidName(value, limit: CloudWatchLimits.maxDimensionValueLength)
                    else { return .failure(.badTag) }
                    tags[key] = value
                }
            } else {
                return .failure(.unknownField)
            }
        }
        guard tags.count <= CloudWatchLimits.maxDimensions else { return .failure(.tooManyTags) }
        line.tags = tags.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        return .success(line)
    }

    /// 1 to `limit` UTF-8 bytes, none of them a control character.
    static func isValidName(_ text: String, limit: Int) -> Bool {
        let count = text.utf8.count
        return count >= 1 && count <= limit && !text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}
