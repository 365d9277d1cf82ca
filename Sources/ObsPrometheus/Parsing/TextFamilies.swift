/// The families of a 0.0.4 body. Unlike OpenMetrics, 0.0.4 lets a family's samples be spread over
/// the body, so families are found by name: a `_bucket`, `_count` or `_sum` sample belongs to the
/// histogram or summary it extends when that family was typed so, else to a family of its own name.
struct TextFamilies {
    struct Family {
        var name: [UInt8]
        var type: MetricType = .unknown
        var hasHelp = false
        var hasType = false
        var sampled = false
    }

    var families: [Family] = []
    private var index: [ByteKey: Int] = [:]
    private var key = ByteKey([])
    /// The last sample's name and where it went: consecutive samples mostly share a name.
    private var lastName: [UInt8] = []
    private var lastPlace: (family: Int, suffix: SampleSuffix)?

    /// The family called `name`, made when new.
    mutating func family(named name: ByteSpan) -> Int {
        if let existing = lookup(name) { return existing }
        let new = families.count
        families.append(Family(name: Array(name.buffer)))
        index[ByteKey(Array(name.buffer))] = new
        lastPlace = nil
        return new
    }

    private mutating func lookup(_ name: ByteSpan) -> Int? {
        key.bytes.removeAll(keepingCapacity: true)
        key.bytes.append(contentsOf: name.buffer)
        return index[key]
    }

    /// The family a sample called `name` belongs to, and its suffix.
    mutating func family(forSample name: ByteSpan) -> (Int, SampleSuffix) {
        if let lastPlace, lastName.count == name.count,
            lastName.withUnsafeBytes({ memcmpBytes($0.baseAddress!, name.base!, name.count) })
        {
            return lastPlace
        }
        let place = find(name)
        lastName.removeAll(keepingCapacity: true)
        lastName.append(contentsOf: name.buffer)
        lastPlace = place
        return place
    }

    private mutating func find(_ name: ByteSpan) -> (Int, SampleSuffix) {
        if name.hasSuffix("_bucket"), let base = lookup(name.dropLast(7)), families[base].type == .histogram {
            return (base, .bucket)
        }
        for (suffix, kind) in [("_count" as StaticString, SampleSuffix.count), ("_sum", .sum)]
        where name.hasSuffix(suffix) {
            if let base = lookup(name.dropLast(suffix.utf8CodeUnitCount)),
                families[base].type == .histogram || families[base].type == .summary
            {
                return (base, kind)
            }
        }
        return (family(named: name), .none)
    }
}
