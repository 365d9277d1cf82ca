/// Where a journal cursor points, read from its text (`s=<seqnum id>;i=<seqnum>;b=<boot id>;
/// m=<monotonic>;t=<realtime>;x=<hash>`, hexadecimal numbers), so that two positions can be put in
/// order without the journal: by sequence number within one sequence-number space, else by
/// monotonic time within one boot, else by wall-clock time, as libsystemd orders entries.
public struct JournalPosition: Sendable, Equatable {
    package var seqnumID: Substring
    package var seqnum: UInt64
    package var bootID: Substring
    package var monotonic: UInt64
    package var realtime: UInt64

    /// Nil when `cursor` lacks one of the fields (not a cursor libsystemd wrote).
    package init?(cursor: String) {
        var seqnumID: Substring?
        var seqnum: UInt64?
        var bootID: Substring?
        var monotonic: UInt64?
        var realtime: UInt64?
        for part in cursor.split(separator: ";") {
            guard part.count > 2, part[part.index(after: part.startIndex)] == "=" else { continue }
            let value = part.dropFirst(2)
            switch part.first {
            case "s": seqnumID = value
            case "i": seqnum = UInt64(value, radix: 16)
            case "b": bootID = value
            case "m": monotonic = UInt64(value, radix: 16)
            case "t": realtime = UInt64(value, radix: 16)
            default: break
            }
        }
        guard let seqnumID, let seqnum, let bootID, let monotonic, let realtime else { return nil }
        self.seqnumID = seqnumID
        self.seqnum = seqnum
        self.bootID = bootID
        self.monotonic = monotonic
        self.realtime = realtime
    }

    /// Whether this position comes before `other`.
    package func precedes(_ other: JournalPosition) -> Bool {
        if seqnumID == other.seqnumID { return seqnum < other.seqnum }
        if bootID == other.bootID { return monotonic < other.monotonic }
        return realtime < other.realtime
    }

    /// How many entries lie strictly between this position and a later `other`, when both are in
    /// one sequence-number space (a single journal writer numbers its entries one by one); nil
    /// when that cannot be known.
    package func entriesBetween(_ other: JournalPosition) -> UInt64? {
        guard seqnumID == other.seqnumID, seqnum < other.seqnum else { return nil }
        return other.seqnum - seqnum - 1
    }
}
