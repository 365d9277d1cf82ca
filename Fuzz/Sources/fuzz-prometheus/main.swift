import FuzzSupport
import ObsCore
import ObsPrometheus

/// The exposition parser in both formats, strict and lenient, and the mapper behind it (a scrape's
/// body goes through both).
let recorder = Recorder(ringCapacity: 1 << 12)
let aggregator = Aggregator(recorder: recorder)
let mapper = ScrapeMapper(service: "fuzz", recorder: recorder, maximumSeries: 2_000)
var runs = 0
runFuzzer { bytes in
    for format in [ExpositionFormat.prometheusText, .openMetrics] {
        for strict in [true, false] {
            var samples = 0
            try? ExpositionParser(format: format, strict: strict).parse(bytes) { _ in samples += 1 }
        }
        _ = try? mapper.ingest(Array(bytes), format: format)
    }
    runs += 1
    if runs % 256 == 0 { aggregator.drain() }
}
