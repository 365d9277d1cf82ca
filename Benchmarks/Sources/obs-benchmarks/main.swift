import CObsNet
import Foundation
import Logging
import MallocInterposerSwift
import ObsAWS
import ObsCore
import ObsDelivery
import ObsNet
import ObsPostgres
import ObsPrometheus
import ObsXRay
import Synchronization

// The agent's hot path, each figure beside a Mutex-guarded baseline measured in the same run.
// Timing uses CLOCK_MONOTONIC; every figure is the median of several runs.

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func report(_ name: String, _ value: Double, _ unit: String, baseline: Double? = nil, note: String = "") {
    var line = "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(String(format: "%10.2f", value)) \(unit)"
    if let baseline { line += String(format: "   Mutex baseline %10.2f %@", baseline, unit) }
    if !note.isEmpty { line += "   \(note)" }
    print(line)
}

/// The baseline: the obvious design, one lock around per-series state updated in place.
final class MutexAggregator: @unchecked Sendable {
    struct State {
        var statistics: [StatisticSet]
    }
    let state: Mutex<State>
    init(series: Int) { state = Mutex(State(statistics: Array(repeating: StatisticSet(), count: series))) }
    @inline(__always) func record(_ series: Int, _ value: Double) {
        state.withLock { $0.statistics[series].add(value) }
    }
}

let descriptor = MetricDescriptor(namespace: "Bench", name: "Latency", unit: .milliseconds, kind: .gauge)
let selected = Set(CommandLine.arguments.dropFirst())
func enabled(_ name: String) -> Bool { selected.isEmpty || selected.contains(name) }

// MARK: 1. Record cost, one producer

if enabled("record") {
    let recorder = Recorder(ringCapacity: 1 << 16)
    let aggregator = Aggregator(recorder: recorder)
    let producer = recorder.makeProducer(name: "bench")
    let series = (0..<64).map { recorder.series(descriptor, Dimensions([("N", "\($0)")])) }
    let batch = 1 << 15
    let batches = 600
    var samples: [Double] = []
    var mallocs = 0
    for run in 0..<7 {
        var recordNanos: UInt64 = 0
        if run > 0 {
            MallocInterposerSwift.initialize()
            MallocInterposerSwift.hook()
        }
        for b in 0..<batches {
            let start = now()
            for i in 0..<batch { producer.record(series[i & 63], Double(i &+ b)) }
            recordNanos += now() - start
            if run > 0 { MallocInterposerSwift.unhook() }
            aggregator.drain()
            if run > 0 { MallocInterposerSwift.hook() }
        }
        if run > 0 {
            MallocInterposerSwift.unhook()
            mallocs += MallocInterposerSwift.getStatistics().mallocCount
            samples.append(Double(recordNanos) / Double(batch * batches))
        }
    }
    let baseline = MutexAggregator(series: 64)
    var baselineSamples: [Double] = []
    for _ in 0..<7 {
        let start = now()
        for i in 0..<(batch * batches) { baseline.record(i & 63, Double(i)) }
        baselineSamples.append(Double(now() - start) / Double(batch * batches))
    }
    report(
        "record, one producer", median(samples), "ns/obs", baseline: median(baselineSamples),
        note: "mallocs while recording: \(mallocs) in \(6 * batch * batches) records; drops \(recorder.ringDrops)")
}

// MARK: 1b. The aggregator's side: draining rings into per-series state

if enabled("drain") {
    let recorder = Recorder(ringCapacity: 1 << 16)
    let aggregator = Aggregator(recorder: recorder)
    let producer = recorder.makeProducer(name: "bench")
    let series = (0..<64).map { recorder.series(descriptor, Dimensions([("N", "\($0)")])) }
    let batch = 1 << 15
    var samples: [Double] = []
    for _ in 0..<7 {
        var drainNanos: UInt64 = 0
        for b in 0..<600 {
            for i in 0..<batch { producer.record(series[i & 63], Double(i &+ b)) }
            let start = now()
            aggregator.drain()
            drainNanos += now() - start
        }
        samples.append(Double(drainNanos) / Double(batch * 600))
    }
    report("drain into per-series state, one consumer", median(samples), "ns/obs")
}

// MARK: 2a. Two producers on two cores, recording only (each ring drained between rounds)

/// Runs `body(thread)` on two threads started together; returns the seconds until both finished.
func onTwoThreads(_ body: @escaping @Sendable (Int) -> Void) -> Double {
    let ready = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    let go = Atomic<Bool>(false)
    for t in 0..<2 {
        Thread {
            ready.add(1, ordering: .releasing)
            while !go.load(ordering: .acquiring) {}
            body(t)
            done.add(1, ordering: .releasing)
        }.start()
    }
    while ready.load(ordering: .acquiring) < 2 {}
    let start = now()
    go.store(true, ordering: .releasing)
    while done.load(ordering: .acquiring) < 2 {}
    return Double(now() - start) / 1e9
}

if enabled("two-producers-record") {
    let perRound = 4_000_000
    let recorder = Recorder(ringCapacity: 1 << 22)
    let aggregator = Aggregator(recorder: recorder)
    let series = (0..<64).map { recorder.series(descriptor, Dimensions([("N", "\($0)")])) }
    let producers = (0..<2).map { recorder.makeProducer(name: "p\($0)") }
    var rates: [Double] = []
    for _ in 0..<9 {
        let seconds = onTwoThreads { t in
            let producer = producers[t]
            for i in 0..<perRound { producer.record(series[i & 63], 1) }
        }
        aggregator.drain()
        rates.append(Double(2 * perRound) / seconds / 1e6)
    }
    let baseline = MutexAggregator(series: 64)
    var baselineRates: [Double] = []
    for _ in 0..<5 {
        let seconds = onTwoThreads { _ in
            for i in 0..<(perRound / 4) { baseline.record(i & 63, 1) }
        }
        baselineRates.append(Double(perRound / 2) / seconds / 1e6)
    }
    report(
        "two producers recording, two cores", median(rates), "M obs/s", baseline: median(baselineRates),
        note: "drops \(recorder.ringDrops)")
}

// MARK: 2b. Two producers on two cores, with the aggregator draining concurrently

if enabled("two-producers") {
    let perProducer = 100_000_000
    var throughput: [Double] = []
    var dropRates: [Double] = []
    for _ in 0..<3 {
        let recorder = Recorder(ringCapacity: 1 << 16)
        let aggregator = Aggregator(recorder: recorder)
        let series = (0..<64).map { recorder.series(descriptor, Dimensions([("N", "\($0)")])) }
        let producers = (0..<2).map { recorder.makeProducer(name: "p\($0)") }
        let running = Atomic<Int>(2)
        let start = now()
        let threads = producers.map { producer in
            Thread {
                for i in 0..<perProducer { producer.record(series[i & 63], 1) }
                running.subtract(1, ordering: .releasing)
            }
        }
        for thread in threads { thread.start() }
        while running.load(ordering: .acquiring) > 0 { aggregator.drain() }
        let elapsed = Double(now() - start) / 1e9
        let data = aggregator.flush(timestamp: 0)
        let accepted = data.reduce(0.0) {
            if case .statistics(let set) = $1.value { return $0 + set.sampleCount }
            return $0
        }
        throughput.append(accepted / elapsed / 1e6)
        dropRates.append(Double(recorder.ringDrops) / Double(2 * perProducer) * 100)
    }
    var baselineThroughput: [Double] = []
    for _ in 0..<3 {
        let baseline = MutexAggregator(series: 64)
        let running = Atomic<Int>(2)
        let start = now()
        let count = perProducer / 10
        for _ in 0..<2 {
            Thread {
                for i in 0..<count { baseline.record(i & 63, 1) }
                running.subtract(1, ordering: .releasing)
            }.start()
        }
        while running.load(ordering: .acquiring) > 0 { usleep(100) }
        baselineThroughput.append(Double(2 * count) / (Double(now() - start) / 1e9) / 1e6)
    }
    report(
        "two producers, accepted and aggregated", median(throughput), "M obs/s", baseline: median(baselineThroughput),
        note: String(format: "dropped (ring full) %.2f %%", median(dropRates)))
}

// MARK: 3. Flush 10,000 series and encode them into PutMetricData bodies

if enabled("flush") {
    let seriesCount = 10_000
    var flushSamples: [Double] = []
    var gzipSamples: [Double] = []
    var requests = 0
    var bytes = 0
    for _ in 0..<7 {
        let recorder = Recorder(cardinalityLimit: 100_000, ringCapacity: 1 << 16)
        let aggregator = Aggregator(recorder: recorder)
        let producer = recorder.makeProducer(name: "bench")
        let ids = (0..<seriesCount).map {
            recorder.series(
                descriptor,
                Dimensions([
                    ("Service", "svc\($0 % 20)"), ("Route", "/api/v1/items/\($0)"), ("Method", "GET"),
                    ("StatusClass", "2xx"),
                ]))
        }
        for (i, id) in ids.enumerated() { producer.record(id, Double(i)) }
        let encoder = PutMetricDataEncoder(selfMetrics: recorder.selfMetrics)
        let start = now()
        let bodies = encoder.encode(aggregator.flush(timestamp: 1_764_000_000))
        let encoded = now()
        let compressed = bodies.map { Gzip.compress($0.bytes, level: Gzip.fastest) }
        let end = now()
        flushSamples.append(Double(encoded - start) / 1e6)
        gzipSamples.append(Double(end - start) / 1e6)
        requests = bodies.count
        bytes = compressed.reduce(0) { $0 + $1.count }
    }
    // Baseline: series found by key under one lock (a dictionary), then the same encoder.
    var baselineSamples: [Double] = []
    for _ in 0..<7 {
        let keys = (0..<seriesCount).map {
            Dimensions([
                ("Service", "svc\($0 % 20)"), ("Route", "/api/v1/items/\($0)"), ("Method", "GET"),
                ("StatusClass", "2xx"),
            ])
        }
        let table = Mutex([Dimensions: StatisticSet]())
        for (i, key) in keys.enumerated() { table.withLock { $0[key, default: StatisticSet()].add(Double(i)) } }
        let encoder = PutMetricDataEncoder(selfMetrics: SelfMetrics())
        let start = now()
        let data = table.withLock { table in
            table.map {
                MetricDatum(
                    descriptor: descriptor, dimensions: $0.key, timestamp: 1_764_000_000, value: .statistics($0.value))
            }
        }
        _ = encoder.encode(data)
        baselineSamples.append(Double(now() - start) / 1e6)
    }
    report(
        "flush + encode 10,000 series", median(flushSamples), "ms", baseline: median(baselineSamples),
        note: "\(requests) requests")
    report("flush + encode + gzip 10,000 series", median(gzipSamples), "ms", note: "\(bytes) bytes gzipped")
}

// MARK: 4. X-Ray: datagrams received, validated, measured and batched, beside a plain recvmmsg loop

/// CPU seconds this process has used.
func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
        usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds the calling thread has used.
func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Sends `total` datagrams, the `n`th made by `datagram(n)`, to 127.0.0.1:`port` at `rate` a second:
/// what is due is sent in a burst, then the thread sleeps `pause` microseconds. While `held()` is
/// true it sends nothing, and the time held is not made up afterwards. Returns the sender thread's
/// CPU seconds.
nonisolated func sendPaced(
    to port: Int, rate: Int, total: Int, pause: UInt32 = 200, held: () -> Bool = { false },
    _ datagram: (Int) -> [UInt8]
) -> Double {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let cpu = threadCPU()
    var start = now()
    var sent = 0
    while sent < total {
        if held() {
            let from = now()
            while held() { usleep(10_000) }
            start += now() - from
        }
        let due = min(total, Int(Double(now() - start) / 1e9 * Double(rate)) + 1)
        while sent < due {
            _ = datagram(sent).withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            sent += 1
        }
        usleep(pause)
    }
    return threadCPU() - cpu
}

if enabled("xray") || enabled("xray-parse") || enabled("xray-spool") {
    let body =
        #"{"id": "9a1cd9a4e2d2f8b1", "name": "user-service", "start_time": 1795729074.1, "in_progress": false, "http": {"request": {"method": "GET", "url": "http://user-service:8080/api/users/1042"}, "response": {"status": 200}}, "annotations": {"tenant": "shop"}, "aws": {"xray": {"sdk": "X-Ray for Python", "sdk_version": "2.15.0"}}, "subsegments": [{"id": "b7c2a1d4e5f60718", "name": "postgres", "start_time": 1795729074.1001, "end_time": 1795729074.1021, "namespace": "remote", "sql": {"database_type": "PostgreSQL", "url": "db:5432/microservices_ecom"}}], "trace_id": "1-6b08a6b2-d9e154067440613ea1f0c607", "end_time": 1795729074.1045}"#
    let datagram = Array(#"{"format":"json","version":1}"#.utf8) + [0x0A] + Array(body.utf8)
    // Parsing and validation alone, on one thread (OBS_BENCH_PARSES per run, for profiling).
    let parses = Int(ProcessInfo.processInfo.environment["OBS_BENCH_PARSES"] ?? "") ?? 200_000
    var parseSamples: [Double] = []
    for _ in 0..<5 {
        let start = now()
        var accepted = 0
        for _ in 0..<parses {
            if case .success = SegmentDatagram.parse(datagram) { accepted += 1 }
        }
        precondition(accepted == parses)
        parseSamples.append(Double(now() - start) / Double(parses) / 1000)
    }
    report(
        "xray datagram parse + validate", median(parseSamples), "µs",
        note: "\(datagram.count)-byte datagram from an SDK-shaped segment")
    // "xray": delivery replaced by a counter (the receive path's own cost); "xray-spool": the
    // agent's delivery, every batch written to a disk spool as the agent does (nothing sent), to
    // show the receive path keeps up with the disk behind it.
    let modes = (enabled("xray") ? [false] : []) + (selected.contains("xray-spool") ? [true] : [])
    for spooled in modes {
        for rate in [50_000, 150_000] {
            let total = rate * 3
            // The agent's receiver.
            let recorder = Recorder(ringCapacity: 1 << 20)
            let aggregator = Aggregator(recorder: recorder)
            let delivered = Atomic<Int>(0)
            let spoolDirectory = FileManager.default.currentDirectoryPath + "/.build/bench-spool-\(getpid())"
            let sink: XRayTraceSink? =
                spooled
                ? XRayTraceSink(
                    spool: try! DiskSpool(
                        directory: spoolDirectory, maxBytes: 1 << 30, selfMetrics: recorder.selfMetrics),
                    selfMetrics: recorder.selfMetrics, logger: Logger(label: "bench"))
                : nil
            defer { try? FileManager.default.removeItem(atPath: spoolDirectory) }
            let source = try! XRaySource(
                settings: .init(host: "127.0.0.1", port: 0), recorder: recorder, logger: Logger(label: "bench")
            ) {
                if let sink { sink.publish($0) }
                delivered.add($0.count, ordering: .relaxed)
            }
            let receiver = Thread { source.runBlocking() }
            receiver.start()
            usleep(200_000)
            let cpuBefore = processCPU()
            let senderCPU = sendPaced(to: source.port, rate: rate, total: total) { _ in datagram }
            usleep(1_500_000)  // let the last batch go (batch delay 1 s)
            sink?.flush()  // and be written: the spool writer's CPU is part of the figure
            let receiverCPU = processCPU() - cpuBefore - senderCPU
            source.stop()
            while !receiver.isFinished { usleep(10_000) }
            aggregator.drain()
            let received = delivered.load(ordering: .relaxed)

            // The floor: a plain recvmmsg loop that only counts.
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var size: Int32 = 8 << 20
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            let floorCount = Atomic<Int>(0)
            let floorStop = Atomic<Bool>(false)
            let floor = Thread {
                // The agent's slot layout (see UDPSocket.slotStride), so that only the work differs.
                let stride = 65_536 + 17 * 64
                let buffers = UnsafeMutableRawPointer.allocate(byteCount: 64 * stride, alignment: 64)
                let lengths = UnsafeMutablePointer<Int>.allocate(capacity: 64)
                while !floorStop.load(ordering: .relaxed) {
                    let n = obs_recv_batch(fd, buffers, 64, stride, 65_536, lengths)
                    if n > 0 { floorCount.add(Int(n), ordering: .relaxed) }
                }
            }
            floor.start()
            usleep(100_000)
            let floorBefore = processCPU()
            let floorSenderCPU = sendPaced(to: Int(UInt16(bigEndian: bound.sin_port)), rate: rate, total: total) { _ in
                datagram
            }
            usleep(300_000)
            let floorCPU = processCPU() - floorBefore - floorSenderCPU
            floorStop.store(true, ordering: .relaxed)
            while !floor.isFinished { usleep(10_000) }
            close(fd)

            let spoolNote = sink.map { ", \($0.spool.pending().count) batches spooled" } ?? ""
            report(
                "xray\(spooled ? " to spool" : "") \(rate / 1000)k datagrams/s: CPU a segment",
                receiverCPU / Double(max(received, 1)) * 1e6, "µs",
                note: String(
                    format: "received %d of %d (%.3f %% lost); plain recvmmsg floor %.2f µs, received %d",
                    received, total, Double(total - received) / Double(total) * 100,
                    floorCPU / Double(max(floorCount.load(ordering: .relaxed), 1)) * 1e6,
                    floorCount.load(ordering: .relaxed)) + spoolNote)
        }
    }
}

// MARK: Exposition parsing: the real scrapes of Prometheus' own parser tests

if enabled("prom-parse") {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Tests/ObsPrometheusTests/Fixtures/prometheus-textparse").standardized
    for (file, format) in [
        ("alltypes.237mfs.prom.txt", ExpositionFormat.prometheusText), ("alltypes.5mfs.om.txt", .openMetrics),
    ] {
        let bytes = Array(try! Data(contentsOf: fixtures.appendingPathComponent(file)))
        let parser = ExpositionParser(format: format, strict: false)
        var samples = 0
        var checksum = 0.0
        try! parser.parse(bytes) {
            samples += 1
            checksum += $0.value.isFinite ? $0.value : 0
        }
        let rounds = max(20, 50_000_000 / bytes.count)
        var nanos: [Double] = []
        var mallocs = 0
        for run in 0..<7 {
            if run > 0 {
                MallocInterposerSwift.initialize()
                MallocInterposerSwift.hook()
            }
            let start = now()
            for _ in 0..<rounds { try! parser.parse(bytes) { checksum += $0.value.isFinite ? $0.value : 0 } }
            let elapsed = Double(now() - start)
            if run > 0 {
                MallocInterposerSwift.unhook()
                mallocs += MallocInterposerSwift.getStatistics().mallocCount
                nanos.append(elapsed / Double(rounds))
            }
        }
        let perParse = median(nanos)
        report(
            "parse \(file)", Double(bytes.count) / perParse * 1e9 / 1e6, "MB/s",
            note: String(
                format: "%.1f M samples/s; %.0f µs a parse of %d bytes, %d samples; mallocs %d in %d parses (%.0f)",
                Double(samples) / perParse * 1e3, perParse / 1e3, bytes.count, samples, mallocs, 6 * rounds,
                checksum.truncatingRemainder(dividingBy: 10)))
    }
}

// MARK: Scrape and record: parse plus mapping into the recorder

if enabled("prom-scrape") {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Tests/ObsPrometheusTests/Fixtures/prometheus-textparse").standardized
    // A Spring service with percentile histograms on 40 routes × 3 statuses (20 buckets each) and a pool.
    var spring = "# TYPE hikaricp_connections_active gauge\nhikaricp_connections_active{pool=\"HikariPool-1\",} 4.0\n"
    spring += "# TYPE hikaricp_connections_max gauge\nhikaricp_connections_max{pool=\"HikariPool-1\",} 10.0\n"
    spring += "# TYPE http_server_requests_seconds histogram\n"
    let bounds = (0..<19).map { String(format: "%.3f", 0.001 * pow(2, Double($0))) } + ["+Inf"]
    for route in 0..<40 {
        for status in ["200", "404", "500"] {
            let labels =
                "application=\"user-service\",exception=\"none\",method=\"GET\",outcome=\"SUCCESS\",status=\"\(status)\",uri=\"/api/r\(route)/{id}\","
            for (i, bound) in bounds.enumerated() {
                spring += "http_server_requests_seconds_bucket{\(labels)le=\"\(bound)\",} \(i * 10)\n"
            }
            spring +=
                "http_server_requests_seconds_count{\(labels)} 190\nhttp_server_requests_seconds_sum{\(labels)} 12.5\n"
        }
    }
    let bodies: [(String, [UInt8])] = [
        (
            "alltypes.237mfs.prom.txt",
            Array(try! Data(contentsOf: fixtures.appendingPathComponent("alltypes.237mfs.prom.txt")))
        ),
        ("spring 40 routes x 3 statuses, histograms", Array(spring.utf8)),
    ]
    for (name, body) in bodies {
        let recorder = Recorder(ringCapacity: 1 << 20)
        let aggregator = Aggregator(recorder: recorder)
        let mapper = ScrapeMapper(service: "bench", recorder: recorder)
        _ = try! mapper.ingest(body, format: .prometheusText)
        var samples: [Double] = []
        let rounds = 200
        for _ in 0..<7 {
            let start = threadCPU()
            for _ in 0..<rounds { _ = try! mapper.ingest(body, format: .prometheusText) }
            samples.append((threadCPU() - start) / Double(rounds))
            aggregator.drain()
        }
        let result = try! mapper.ingest(body, format: .prometheusText)
        report(
            "scrape+record \(name)", median(samples) * 1e6, "µs CPU",
            note: "\(body.count) bytes, \(result.samples) samples, \(result.mapped) mapped; drops \(recorder.ringDrops)"
        )
    }
}

// MARK: PostgreSQL: one full sample by the agent against one scrape of postgres_exporter
// (run by Benchmarks/postgres-vs-exporter, which starts PostgreSQL and the exporter).

/// CPU seconds (user + system) a process has used, from /proc.
func processCPU(pid: Int) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func comparePostgresWithExporter() {
    let env = ProcessInfo.processInfo.environment
    let settings = PostgresConnectionSettings(
        host: "127.0.0.1", port: Int(env["OBS_TEST_PG_PORT"] ?? "") ?? 5432, database: "microservices_ecom",
        user: env["OBS_TEST_PG_USER"] ?? "obs_agent", password: env["OBS_TEST_PG_PASSWORD"], sslMode: "disable")
    nonisolated(unsafe) let admin = try! PostgresConnection(
        PostgresConnectionSettings(
            host: settings.host, port: settings.port, database: "microservices_ecom", user: "postgres",
            password: env["OBS_TEST_PG_SUPERPASSWORD"], sslMode: "disable"))
    _ = try! admin.query("SET application_name = 'bench-admin'")
    @Sendable func backendPIDs(_ condition: String) -> [Int] {
        (try? admin.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND \(condition)"))?
            .rows.compactMap { $0[0].flatMap { Int($0) } } ?? []
    }
    let rounds = 50
    // The agent: every sampler of one database source (database, activity, locks, tables,
    // statements) and the instance-wide views.
    let recorder = Recorder(ringCapacity: 1 << 20)
    let aggregator = Aggregator(recorder: recorder)
    let source = PostgresSource(
        settings: .init(instance: "bench", connection: settings), recorder: recorder, logger: Logger(label: "bench"))
    let semaphore = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var agentCPU = 0.0
    nonisolated(unsafe) var agentBackendCPU = 0.0
    nonisolated(unsafe) var observations = 0
    Task.detached {
        _ = try? await source.sample()  // connect and take the baselines
        let backends = backendPIDs("application_name = 'obs-agent'")
        let backendBefore = backends.map(processCPU).reduce(0, +)
        let before = processCPU()
        for _ in 0..<rounds { observations += (try? await source.sample()) ?? 0 }
        agentCPU = (processCPU() - before) / Double(rounds)
        agentBackendCPU = (backends.map(processCPU).reduce(0, +) - backendBefore) / Double(rounds)
        semaphore.signal()
    }
    semaphore.wait()
    aggregator.drain()
    let datums = aggregator.flush(timestamp: 0).count

    // postgres_exporter, default flags: scrape /metrics.
    nonisolated(unsafe) var exporterCPU = 0.0
    nonisolated(unsafe) var exporterBackendCPU = 0.0
    var exporterSamples = 0
    if let url = env["EXPORTER_URL"], let pid = env["EXPORTER_PID"].flatMap({ Int($0) }) {
        let transport = CurlTransport(label: "bench")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var body: [UInt8] = []
        Task.detached {
            _ = try? await transport.send(HTTPRequest(method: "GET", url: url))  // warm-up: connects
            // The exporter's backends: its own role (EXPORTER_USER), or the agent's role without its name.
            let user = env["EXPORTER_USER"] ?? settings.user
            let backends = backendPIDs("usename = '\(user)' AND application_name <> 'obs-agent'")
            let backendBefore = backends.map(processCPU).reduce(0, +)
            let before = processCPU(pid: pid)
            for _ in 0..<rounds { body = (try? await transport.send(HTTPRequest(method: "GET", url: url)))?.body ?? [] }
            exporterCPU = (processCPU(pid: pid) - before) / Double(rounds)
            exporterBackendCPU = (backends.map(processCPU).reduce(0, +) - backendBefore) / Double(rounds)
            done.signal()
        }
        done.wait()
        exporterSamples =
            String(decoding: body, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.count
    }
    let agentTotal = (agentCPU + agentBackendCPU) * 1000
    let exporterTotal = (exporterCPU + exporterBackendCPU) * 1000
    report(
        "postgres: agent full sample", agentTotal, "ms CPU",
        note: String(
            format: "agent %.2f ms + its backend %.2f ms; %d observations a sample, %d datums", agentCPU * 1000,
            agentBackendCPU * 1000, observations / rounds, datums))
    report(
        "postgres: postgres_exporter scrape", exporterTotal, "ms CPU",
        note: String(
            format: "exporter %.2f ms + its backends %.2f ms; %d samples a scrape; agent/exporter %.2f",
            exporterCPU * 1000, exporterBackendCPU * 1000, exporterSamples,
            exporterTotal > 0 ? agentTotal / exporterTotal : 0))
}

if CommandLine.arguments.contains("pg-vs-exporter") { comparePostgresWithExporter() }
if selected.contains("xray-ship") { compareTraceShipping() }

if let i = CommandLine.arguments.firstIndex(of: "journal-export"), i + 1 < CommandLine.arguments.count,
    let count = Int(CommandLine.arguments[i + 1])
{
    writeJournalExport(count: count)
}
if let i = CommandLine.arguments.firstIndex(of: "journal-agent"), i + 2 < CommandLine.arguments.count,
    let entries = Int(CommandLine.arguments[i + 2])
{
    runJournalAgent(directory: CommandLine.arguments[i + 1], entries: entries)
}
if let i = CommandLine.arguments.firstIndex(of: "journal-vs-journalctl"), i + 1 < CommandLine.arguments.count {
    compareJournalWithJournalctl(directory: CommandLine.arguments[i + 1])
}
if let i = CommandLine.arguments.firstIndex(of: "soak-xray"), i + 3 < CommandLine.arguments.count {
    let a = CommandLine.arguments
    soakXRay(
        port: Int(a[i + 1])!, rate: Int(a[i + 2])!, seconds: Int(a[i + 3])!,
        holdFile: i + 4 < a.count ? a[i + 4] : nil)
}
if let i = CommandLine.arguments.firstIndex(of: "soak-journal"), i + 2 < CommandLine.arguments.count {
    let a = CommandLine.arguments
    soakJournal(rate: Int(a[i + 1])!, seconds: Int(a[i + 2])!)
}
if let i = CommandLine.arguments.firstIndex(of: "counting-endpoint"), i + 1 < CommandLine.arguments.count {
    await runCountingEndpoint(countsFile: CommandLine.arguments[i + 1])
}
