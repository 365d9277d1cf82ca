/// The rules of OpenMetrics 1.0 beyond the line grammar: families are contiguous and their
/// metadata comes first and once; names never clash; each type's samples carry the right suffixes,
/// labels and values; a histogram's or summary's series stay together, its buckets ascend and
/// agree with its count; a series repeated carries non-decreasing timestamps.
struct OpenMetricsRules {
    enum Metadata { case help, type, unit }

    struct Family {
        var name: [UInt8]
        var index: Int
        var type: MetricType = .unknown
        var hasHelp = false
        var hasType = false
        var hasUnit = false
        var unitIsEmpty = true
        var sampled = false
    }

    /// One label set of a histogram, gauge histogram or summary.
    struct Group {
        var key: [UInt8]
        var lastLe = -Double.infinity
        var lastBucket = -Double.infinity
        var hasBuckets = false
        var infinity: Double?
        var count: Double?
        var sum: Double?
        var hasNegativeBucket = false
    }

    /// Where a sample landed.
    struct Placement {
        var familyNameCount: Int
        var type: MetricType
        var familyIndex: Int
        var suffix: SampleSuffix
    }

    /// Whether the value and series rules are checked (the family and metadata rules always are).
    let strict: Bool
    /// The line being checked, for errors.
    var line = 0
    private var current: Family?
    private var familyCount = 0
    /// Family names and every sample name a finished family owns.
    private var seen: Set<ByteKey> = []
    private var group: Group?
    private var closedGroups: Set<ByteKey> = []
    private var keyBuffer: [UInt8] = []
    private var previousSeries: [UInt8] = []
    private var seriesBuffer: [UInt8] = []
    private var previousTimestamp: Double?
    private var hasPrevious = false

    init(strict: Bool) {
        self.strict = strict
    }

    private func error(_ message: String) -> ExpositionError { ExpositionError(line: line, message) }

    mutating func metadata(_ kind: Metadata, name: ByteSpan, type: MetricType = .unknown, unitIsEmpty: Bool = true)
        throws(ExpositionError)
    {
        if current == nil || !(current!.name.elementsEqual(name.buffer)) {
            try startFamily(name)
        } else if current!.sampled {
            throw error("metadata for \(name) after its samples")
        }
        switch kind {
        case .help:
            guard !current!.hasHelp else { throw error("second # HELP for \(name)") }
            current!.hasHelp = true
        case .type:
            guard !current!.hasType else { throw error("second # TYPE for \(name)") }
            current!.hasType = true
            current!.type = type
        case .unit:
            guard !current!.hasUnit else { throw error("second # UNIT for \(name)") }
            current!.hasUnit = true
            current!.unitIsEmpty = unitIsEmpty
        }
    }

    private mutating func startFamily(_ name: ByteSpan, type: MetricType = .unknown) throws(ExpositionError) {
        try finishFamily()
        let bytes = Array(name.buffer)
        guard !seen.contains(ByteKey(bytes)) else {
            throw error("metric family \(name) appears twice or clashes with another")
        }
        seen.insert(ByteKey(bytes))
        current = Family(name: bytes, index: familyCount, type: type)
        familyCount += 1
    }

    private mutating func finishFamily() throws(ExpositionError) {
        try finishGroup()
        closedGroups.removeAll()
        guard let family = current else { return }
        current = nil
        if family.hasUnit, !family.unitIsEmpty, family.type == .info || family.type == .stateset {
            throw error("\(family.type.rawValue) metrics cannot have a unit")
        }
        for suffix in Self.suffixes(family.type) where !suffix.text.isEmpty {
            let owned = family.name + Array(suffix.text.utf8)
            guard seen.insert(ByteKey(owned)).inserted else {
                throw error(
                    "\(String(decoding: owned, as: UTF8.self)) of family \(String(decoding: family.name, as: UTF8.self)) clashes with another family"
                )
            }
        }
    }

    static func suffixes(_ type: MetricType) -> [(text: String, suffix: SampleSuffix)] {
        switch type {
        case .counter: return [("_total", .total), ("_created", .created)]
        case .gauge, .stateset, .unknown: return [("", .none)]
        case .histogram: return [("_bucket", .bucket), ("_count", .count), ("_sum", .sum), ("_created", .created)]
        case .gaugehistogram: return [("_bucket", .bucket), ("_gcount", .gcount), ("_gsum", .gsum)]
        case .summary: return [("", .none), ("_count", .count), ("_sum", .sum), ("_created", .created)]
        case .info: return [("_info", .info)]
        }
    }

    mutating func sample(name: ByteSpan, labels: LabelSpans, value: Double, timestamp: Double?, hasExemplar: Bool)
        throws(ExpositionError) -> Placement
    {
        var suffix: SampleSuffix?
        if let family = current {
            suffix = Self.match(name, family: family)
        }
        if suffix == nil {
            try startFamily(name)
            suffix = SampleSuffix.none
        }
        current!.sampled = true
        let family = current!
        let placement = Placement(
            familyNameCount: family.name.count, type: family.type, familyIndex: family.index, suffix: suffix!)
        guard strict else { return placement }
        try checkSeries(name: name, labels: labels, timestamp: timestamp)
        try checkValue(family: family, suffix: suffix!, labels: labels, value: value, hasExemplar: hasExemplar)
        return placement
    }

    private static func match(_ name: ByteSpan, family: Family) -> SampleSuffix? {
        guard name.count >= family.name.count,
            family.name.withUnsafeBytes({
                memcmpBytes($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, name.base!, family.name.count)
            })
        else { return nil }
        let rest = ByteSpan(base: name.base! + family.name.count, count: name.count - family.name.count)
        for candidate in suffixes(family.type) where rest.string == candidate.text { return candidate.suffix }
        return nil
    }

    private mutating func checkSeries(name: ByteSpan, labels: LabelSpans, timestamp: Double?) throws(ExpositionError) {
        seriesBuffer.removeAll(keepingCapacity: true)
        seriesBuffer.append(contentsOf: name.buffer)
        for i in 0..<labels.count {
            seriesBuffer.append(0)
            seriesBuffer.append(contentsOf: labels[i].name.buffer)
            seriesBuffer.append(0)
            seriesBuffer.append(contentsOf: labels[i].value.buffer)
        }
        if hasPrevious, seriesBuffer == previousSeries {
            guard let previousTimestamp, let timestamp else {
                throw error("series \(name) repeated without timestamps")
            }
            guard timestamp >= previousTimestamp else { throw error("series \(name)'s timestamps go backwards") }
        }
        swap(&seriesBuffer, &previousSeries)
        previousTimestamp = timestamp
        hasPrevious = true
    }

    private mutating func checkValue(
        family: Family, suffix: SampleSuffix, labels: LabelSpans, value: Double, hasExemplar: Bool
    ) throws(ExpositionError) {
        let exemplarAllowed: Bool
        func nonNegative(_ what: String) throws(ExpositionError) {
            guard !value.isNaN, value >= 0 else { throw error("\(what) must be a non-negative number, got \(value)") }
        }
        switch family.type {
        case .counter:
            exemplarAllowed = suffix == .total
            try nonNegative("a counter")
        case .gauge, .unknown:
            exemplarAllowed = false
        case .info:
            exemplarAllowed = false
            guard value == 1 else { throw error("an info metric's value must be 1") }
        case .stateset:
            exemplarAllowed = false
            guard value == 0 || value == 1 else { throw error("a stateset's value must be 0 or 1") }
            let own = String(decoding: family.name, as: UTF8.self)
            guard (0..<labels.count).contains(where: { labels[$0].name.string == own }) else {
                throw error("a stateset's samples need a label named \(own)")
            }
        case .summary:
            exemplarAllowed = false
            try enterGroup(labels: labels, excluding: "quantile")
            switch suffix {
            case .none:
                guard let q = labels["quantile"], let quantile = NumberParsing.value(q), !quantile.isNaN,
                    (0...1).contains(quantile)
                else {
                    throw error("a summary's quantile label must be a number from 0 to 1")
                }
                guard value.isNaN || value >= 0 else { throw error("a summary's quantile value must not be negative") }
            case .count:
                try nonNegative("a summary's count")
                group!.count = value
            case .sum:
                try nonNegative("a summary's sum")
                group!.sum = value
            default:
                try nonNegative("a created timestamp")
            }
        case .histogram, .gaugehistogram:
            exemplarAllowed = suffix == .bucket
            try enterGroup(labels: labels, excluding: "le")
            switch suffix {
            case .bucket:
                guard let leText = labels["le"], let le = NumberParsing.value(leText), !le.isNaN,
                    le.isFinite || leText.equals("+Inf")
                else { throw error("a histogram bucket needs an le label that is a number or +Inf") }
                try nonNegative("a bucket")
                guard le > group!.lastLe else { throw error("buckets must be in increasing le order") }
                guard value >= group!.lastBucket else { throw error("bucket counts must not decrease") }
                group!.lastLe = le
                group!.lastBucket = value
                group!.hasBuckets = true
                if le < 0 { group!.hasNegativeBucket = true }
                if le == .infinity { group!.infinity = value }
            case .count, .gcount:
                try nonNegative("a histogram's count")
                group!.count = value
            case .sum:
                try nonNegative("a histogram's sum")
                group!.sum = value
            case .gsum:
                guard !value.isNaN else { throw error("a gauge histogram's sum must be a number") }
                group!.sum = value
            default:
                try nonNegative("a created timestamp")
            }
        }
        if hasExemplar, !exemplarAllowed { throw error("exemplars are allowed only on counters' _total and buckets") }
    }

    /// Moves to the group of `labels` (all but `excluding`), closing the previous one; a group
    /// seen before in this family means its series were split.
    private mutating func enterGroup(labels: LabelSpans, excluding: StaticString) throws(ExpositionError) {
        keyBuffer.removeAll(keepingCapacity: true)
        for i in 0..<labels.count where !labels[i].name.equals(excluding) {
            keyBuffer.append(contentsOf: labels[i].name.buffer)
            keyBuffer.append(0)
            keyBuffer.append(contentsOf: labels[i].value.buffer)
            keyBuffer.append(0)
        }
        if let group, group.key == keyBuffer { return }
        try finishGroup()
        guard closedGroups.insert(ByteKey(keyBuffer)).inserted else {
            throw error("the samples of one series are not together")
        }
        group = Group(key: keyBuffer)
    }

    private mutating func finishGroup() throws(ExpositionError) {
        guard let group, let family = current else {
            self.group = nil
            return
        }
        self.group = nil
        switch family.type {
        case .histogram, .gaugehistogram:
            guard let infinity = group.infinity else { throw error("a histogram needs a +Inf bucket") }
            guard (group.count == nil) == (group.sum == nil) else {
                throw error("a histogram has both a count and a sum, or neither")
            }
            if let count = group.count, count != infinity {
                throw error("a histogram's count must equal its +Inf bucket")
            }
            if family.type == .histogram, group.hasNegativeBucket, group.sum != nil {
                throw error("a histogram with negative buckets cannot have a sum")
            }
            if family.type == .gaugehistogram, let sum = group.sum, sum < 0, !group.hasNegativeBucket {
                throw error("a gauge histogram's sum can be negative only with negative buckets")
            }
        default:
            break
        }
    }

    mutating func finish() throws(ExpositionError) {
        try finishFamily()
    }
}
