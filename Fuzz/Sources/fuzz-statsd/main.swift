import FuzzSupport
import ObsStatsD

/// StatsD datagrams: each line parsed; a line that parses holds to CloudWatch's limits.
runFuzzer { bytes in
    var start = 0
    for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
        switch StatsDLine.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<i])) {
        case .success(let line):
            precondition(!line.name.isEmpty && line.name.utf8.count <= 255)
            precondition(line.sampleRate > 0 && line.sampleRate <= 1)
            precondition(line.kind == .set || line.value.isFinite)
            precondition(line.tags.count <= 30 && line.tags.allSatisfy { !$0.name.isEmpty && !$0.value.isEmpty })
        case .failure:
            break
        }
        start = i + 1
    }
}
