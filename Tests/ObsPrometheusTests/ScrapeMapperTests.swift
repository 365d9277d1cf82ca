import ObsCatalog
import ObsCore
import Testing

@testable import ObsPrometheus

/// Scrapes of a Spring service and of Keycloak, changing between scrapes, and the datums they
/// become, value by value.
@Suite struct ScrapeMapperTests {
    let recorder = Recorder()

    func flush() -> [String: MetricDatum] {
        let data = Aggregator(recorder: recorder).flush(timestamp: 60)
        var byName: [String: MetricDatum] = [:]
        for datum in data { byName["\(datum.descriptor.name){\(datum.dimensions)}"] = datum }
        return byName
    }

    func ingest(_ mapper: ScrapeMapper, _ text: String, _ format: ExpositionFormat = .prometheusText) throws {
        try mapper.ingest(Array(text.utf8), format: format)
    }

    static func sum(_ datum: MetricDatum?) -> Double? {
        switch datum?.value {
        case .single(let v): return v
        case .statistics(let s), .distribution(let s, _): return s.sum
        default: return nil
        }
    }

    static func statistics(_ datum: MetricDatum?) -> StatisticSet? {
        switch datum?.value {
        case .statistics(let s), .distribution(let s, _): return s
        default: return nil
        }
    }

    /// The value of rank ⌊q·(n−1)⌋ among the distribution's buckets (what LogHistogram reports).
    static func quantile(_ datum: MetricDatum?, _ q: Double) -> Double? {
        guard case .distribution(_, let buckets) = datum?.value else { return nil }
        let total = buckets.reduce(0) { $0 + $1.count }
        let rank = (q * (total - 1)).rounded(.down)
        var seen = 0.0
        for bucket in buckets {
            seen += bucket.count
            if seen > rank { return bucket.value }
        }
        return nil
    }

    /// Prometheus' histogram_quantile: linear interpolation within the bucket holding rank q·n.
    static func histogramQuantile(_ q: Double, bounds: [Double], counts: [Double]) -> Double {
        let total = counts.reduce(0, +)
        let rank = q * total
        var cumulative = 0.0
        var lower = 0.0
        for (bound, count) in zip(bounds, counts) {
            if cumulative + count >= rank, count > 0 {
                return lower + (bound - lower) * (rank - cumulative) / count
            }
            cumulative += count
            lower = bound
        }
        return lower
    }

    @Test func springPoolsAndRequestsBecomeCatalogMetrics() throws {
        let mapper = ScrapeMapper(service: "user-service", recorder: recorder)
        var state = ScrapeBodies.Spring()
        let first = try mapper.ingest(Array(ScrapeBodies.spring(state).utf8), format: .prometheusText)
        #expect(first.samples == 33)
        #expect(first.mapped == 32, "everything but jvm_threads_live_threads")

        state.active = 5
        state.idle = 5
        state.timeouts += 3
        state.acquireCount += 200
        state.acquireSum += 0.4
        // GET: 90 requests in (0.05, 0.1] and 10 in (0.5, 1.0]; POST: 5 in (0.1, 0.25].
        state.getBuckets = zip(state.getBuckets, [0.0, 0, 0, 90, 90, 90, 100, 100]).map { $0 + $1 }
        state.getSum += 90 * 0.075 + 10 * 0.75
        state.postBuckets = zip(state.postBuckets, [0.0, 0, 0, 0, 5, 5, 5, 5]).map { $0 + $1 }
        state.postSum += 1.0
        try ingest(mapper, ScrapeBodies.spring(state))
        let data = flush()

        let pool = "{Pool=HikariPool-1,Service=user-service}"
        #expect(data["ActiveConnections\(pool)"]?.last == 5)
        #expect(
            Self.statistics(data["ActiveConnections\(pool)"])
                == StatisticSet(sampleCount: 2, sum: 8, minimum: 3, maximum: 5))
        #expect(data["IdleConnections\(pool)"]?.last == 5)
        #expect(data["Connections\(pool)"]?.last == 10)
        #expect(data["MaxConnections\(pool)"]?.last == 10)
        #expect(data["MinConnections\(pool)"]?.last == 10)
        #expect(data["PendingThreads\(pool)"]?.last == 0)
        #expect(data["Utilization\(pool)"]?.last == 50)
        #expect(
            Self.statistics(data["Utilization\(pool)"])
                == StatisticSet(sampleCount: 2, sum: 80, minimum: 30, maximum: 50))
        #expect(data["Timeouts\(pool)"]?.value == .single(3))
        let acquire = try #require(Self.statistics(data["AcquireTime\(pool)"]))
        #expect(acquire.sampleCount == 200)
        #expect(abs(acquire.sum - 400) < 1e-9, "200 acquisitions took 0.4 s")

        let get = "{Method=GET,Route=/api/products/{id},Service=user-service}"
        let post = "{Method=POST,Route=/api/orders,Service=user-service}"
        #expect(data["Requests\(get)"]?.value == .single(100))
        #expect(data["Faults\(get)"]?.value == .single(0))
        #expect(data["Errors\(get)"]?.value == .single(0))
        #expect(data["Requests\(post)"]?.value == .single(5))
        #expect(data["Faults\(post)"]?.value == .single(5))
        #expect(data["Throttles\(post)"]?.value == .single(0))

        let latency = try #require(Self.statistics(data["Latency\(get)"]))
        #expect(latency.sampleCount == 100)
        // 90 × 75 ms + 10 × 750 ms, with each request placed within its bucket.
        #expect(abs(latency.sum - 14_250) / 14_250 < 0.05)
        // Percentiles recovered from the buckets agree with histogram_quantile to within the
        // spread of a bucket's points (an eighth of its width) and the histogram's 1 %.
        let bounds = [5.0, 10, 50, 100, 250, 500, 1000, .infinity]
        let counts = [0.0, 0, 0, 90, 0, 0, 10, 0]
        for (q, width) in [(0.5, 50.0), (0.9, 50.0), (0.99, 500.0)] {
            let expected = Self.histogramQuantile(q, bounds: bounds, counts: counts)
            let got = try #require(Self.quantile(data["Latency\(get)"], q))
            #expect(abs(got - expected) <= width / 8 + expected * 0.01, "p\(Int(q * 100)): \(got) vs \(expected)")
        }
        #expect(latency.minimum > 50 && latency.maximum < 1000)
        let postLatency = try #require(Self.statistics(data["Latency\(post)"]))
        #expect(postLatency.sampleCount == 5 && abs(postLatency.sum - 1000) / 1000 < 0.2)
        #expect(postLatency.minimum > 100 && postLatency.maximum <= 250)

        let errorRate = try #require(Self.statistics(data["ErrorRate{Service=user-service}"]))
        #expect(errorRate.sampleCount == 105, "weighted by requests")
        #expect(abs(errorRate.average - 5.0 / 105 * 100) < 1e-9)
        #expect(data.keys.filter { $0.hasPrefix("jvm") }.isEmpty)
    }

    @Test func aRestartedServiceNeverGivesNegativeDeltas() throws {
        let mapper = ScrapeMapper(service: "user-service", recorder: recorder)
        var state = ScrapeBodies.Spring()
        state.timeouts = 10
        try ingest(mapper, ScrapeBodies.spring(state))
        // Restarted: every counter starts again from a small value.
        var restarted = ScrapeBodies.Spring()
        restarted.timeouts = 1
        restarted.acquireCount = 4
        restarted.acquireSum = 0.008
        restarted.getBuckets = [1, 2, 2, 2, 2, 2, 2, 2]
        restarted.getSum = 0.012
        restarted.postBuckets = [0, 0, 0, 0, 0, 0, 0, 0]
        restarted.postSum = 0
        try ingest(mapper, ScrapeBodies.spring(restarted))
        let data = flush()
        let pool = "{Pool=HikariPool-1,Service=user-service}"
        #expect(data["Timeouts\(pool)"]?.value == .single(1), "the delta restarts from the new value")
        #expect(
            Self.statistics(data["AcquireTime\(pool)"]).map { ($0.sampleCount, abs($0.sum - 8) < 1e-9) } ?? (0, false)
                == (4, true))
        let get = "{Method=GET,Route=/api/products/{id},Service=user-service}"
        #expect(data["Requests\(get)"]?.value == .single(2))
        #expect(Self.statistics(data["Latency\(get)"])?.sampleCount == 2)
        for datum in data.values {
            switch datum.value {
            case .single(let v): #expect(v >= 0, "\(datum.descriptor.name)")
            default: break
            }
        }
        #expect(recorder.selfMetrics[.counterReset] >= 3)
    }

    @Test func aBadScrapeRecordsNothingAndTheNextGoodOneCoversTheGap() throws {
        let mapper = ScrapeMapper(service: "user-service", recorder: recorder)
        var state = ScrapeBodies.Spring()
        try ingest(mapper, ScrapeBodies.spring(state))
        _ = flush()
        state.timeouts += 4
        let truncated = String(ScrapeBodies.spring(state).prefix(1500)) + "hikaricp_connections{pool=\"x\n"
        #expect(throws: ExpositionError.self) { try ingest(mapper, truncated) }
        #expect(flush().isEmpty)
        state.timeouts += 1
        try ingest(mapper, ScrapeBodies.spring(state))
        #expect(flush()["Timeouts{Pool=HikariPool-1,Service=user-service}"]?.value == .single(5))
    }

    @Test func nonFiniteValuesAreCountedNotRecorded() throws {
        let mapper = ScrapeMapper(service: "svc", recorder: recorder)
        try ingest(
            mapper,
            "hikaricp_connections_active{pool=\"p\"} NaN\nhikaricp_connections_idle{pool=\"p\"} +Inf\nhikaricp_connections_pending{pool=\"p\"} 1\n"
        )
        let data = flush()
        #expect(data.keys.sorted() == ["PendingThreads{Pool=p,Service=svc}"])
        #expect(recorder.selfMetrics[.nonFiniteValue] == 2)
    }

    @Test func keycloakMetricsSPIGivesLoginsFailuresAndTheFailureRate() throws {
        let mapper = ScrapeMapper(service: "keycloak", recorder: recorder)
        var state = ScrapeBodies.Keycloak()
        try ingest(mapper, ScrapeBodies.keycloak(state))
        state.logins += 40
        state.badPassword += 10
        state.refreshTokens += 10
        try ingest(mapper, ScrapeBodies.keycloak(state))
        let data = flush()
        #expect(data["LoginSuccess{Client=web-app,Realm=ecom}"]?.value == .single(40))
        #expect(data["LoginFailure{Client=web-app,Realm=ecom,Reason=invalid_user_credentials}"]?.value == .single(10))
        #expect(data["LoginFailure{Client=web-app,Realm=ecom,Reason=user_not_found}"]?.value == .single(0))
        let rate = try #require(Self.statistics(data["AuthFailureRate{Client=web-app,Realm=ecom}"]))
        #expect(rate.sampleCount == 50 && abs(rate.average - 20) < 1e-9)
        #expect(data["AuthEvents{Client=web-app,Event=refresh_token,Realm=ecom}"]?.value == .single(10))
        #expect(data["ActiveConnections{Pool=default,Service=keycloak}"]?.last == 2)
        #expect(data["IdleConnections{Pool=default,Service=keycloak}"]?.last == 8)
        #expect(data["Connections{Pool=default,Service=keycloak}"]?.last == 10)
        #expect(data.keys.contains { $0.hasPrefix("LoginAttempts") } == false)
    }

    @Test func newerKeycloakUserEventsInOpenMetrics() throws {
        let mapper = ScrapeMapper(service: "keycloak", recorder: recorder)
        try ingest(mapper, ScrapeBodies.keycloakUserEvents(success: 10, failure: 2, refresh: 3), .openMetrics)
        try ingest(mapper, ScrapeBodies.keycloakUserEvents(success: 25, failure: 7, refresh: 4), .openMetrics)
        let data = flush()
        #expect(data["LoginSuccess{Client=web-app,Realm=ecom}"]?.value == .single(15))
        #expect(data["LoginFailure{Client=web-app,Realm=ecom,Reason=invalid_user_credentials}"]?.value == .single(5))
        #expect(data["AuthEvents{Client=web-app,Event=refresh_token,Realm=ecom}"]?.value == .single(1))
        let rate = try #require(Self.statistics(data["AuthFailureRate{Client=web-app,Realm=ecom}"]))
        #expect(rate.sampleCount == 20 && abs(rate.average - 25) < 1e-9)
    }

    @Test func summariesWithoutBucketsGiveTheIntervalMean() throws {
        let mapper = ScrapeMapper(service: "svc", recorder: recorder)
        let body = { (count: Double, sum: Double) in
            """
            # TYPE http_server_requests_seconds summary
            http_server_requests_seconds_count{method="get",status="404",uri="UNKNOWN"} \(count)
            http_server_requests_seconds_sum{method="get",status="404",uri="UNKNOWN"} \(sum)

            """
        }
        try ingest(mapper, body(10, 1))
        try ingest(mapper, body(14, 1.2))
        let data = flush()
        let key = "{Method=GET,Route=UNKNOWN,Service=svc}"
        #expect(data["Errors\(key)"]?.value == .single(4))
        let latency = try #require(Self.statistics(data["Latency\(key)"]))
        #expect(latency.sampleCount == 4 && abs(latency.average - 50) < 1e-9)
    }

    /// Micrometer makes a series at its first request: one that appears between two scrapes of
    /// an instance started from zero since the last scrape, and all of it is the interval's. On the
    /// first scrape of an instance, every series is only the baseline.
    @Test func aSeriesThatAppearsBetweenScrapesCountsWhole() throws {
        let mapper = ScrapeMapper(service: "svc", recorder: recorder)
        func body(_ ok: Double, _ failed: [Double]?) -> String {
            var text = """
                # TYPE http_server_requests_seconds histogram
                http_server_requests_seconds_bucket{method="GET",status="200",uri="/a",le="0.1"} \(ok)
                http_server_requests_seconds_bucket{method="GET",status="200",uri="/a",le="+Inf"} \(ok)
                http_server_requests_seconds_count{method="GET",status="200",uri="/a"} \(ok)
                http_server_requests_seconds_sum{method="GET",status="200",uri="/a"} \(ok * 0.05)
                # TYPE hikaricp_connections_timeout_total counter
                hikaricp_connections_timeout_total{pool="p"} 7

                """
            if let failed {
                text += """
                    http_server_requests_seconds_bucket{method="GET",status="503",uri="/a",le="0.1"} \(failed[0])
                    http_server_requests_seconds_bucket{method="GET",status="503",uri="/a",le="+Inf"} \(failed[1])
                    http_server_requests_seconds_count{method="GET",status="503",uri="/a"} \(failed[1])
                    http_server_requests_seconds_sum{method="GET",status="503",uri="/a"} \(failed[1] * 0.3)

                    """
            }
            return text
        }
        // The first scrape: a 503 series already there is the baseline, as everything else.
        try ingest(mapper, body(100, [1, 2]))
        try ingest(mapper, body(110, [1, 2]))
        var data = flush()
        let a = "{Method=GET,Route=/a,Service=svc}"
        #expect(data["Requests\(a)"]?.value == .single(10))
        #expect(data["Faults\(a)"]?.value == .single(0))

        // A new instance of the mapper's service (another mapper): its 503s appear at its second scrape.
        let later = ScrapeMapper(service: "svc2", recorder: recorder)
        try ingest(later, body(100, nil))
        try ingest(later, body(110, [3, 5]))
        data = flush()
        let b = "{Method=GET,Route=/a,Service=svc2}"
        #expect(data["Requests\(b)"]?.value == .single(15), "10 more 200s and the 5 503s of the new series")
        #expect(data["Faults\(b)"]?.value == .single(5))
        let latency = try #require(Self.statistics(data["Latency\(b)"]))
        #expect(latency.sampleCount == 15, "the new series' buckets are a distribution too")
        #expect(recorder.selfMetrics[.counterReset] == 0, "a new series is not a reset")
        #expect(data["Timeouts{Pool=p,Service=svc2}"]?.value == .single(0))
    }

    @Test func seriesPastTheLimitAreIgnoredAndCounted() throws {
        let mapper = ScrapeMapper(service: "svc", recorder: recorder, maximumSeries: 3)
        let body = (0..<5).map { "hikaricp_connections_active{pool=\"p\($0)\"} 1" }.joined(separator: "\n") + "\n"
        let result = try mapper.ingest(Array(body.utf8), format: .prometheusText)
        #expect(result.mapped == 3)
        #expect(recorder.selfMetrics[.seriesOverflow] == 2)
        #expect(
            Set(flush().keys) == [
                "ActiveConnections{Pool=p0,Service=svc}", "ActiveConnections{Pool=p1,Service=svc}",
                "ActiveConnections{Pool=p2,Service=svc}",
            ])
    }

    @Test func spreadingKeepsCountsWholeAndInsideTheirBuckets() {
        var points: [(Double, Double)] = []
        BucketSpreader.spread(bounds: [0.1, 0.5, .infinity], counts: [3, 20, 2], maximum: 0.9) {
            points.append(($0, $1))
        }
        #expect(points.reduce(0) { $0 + $1.1 } == 25)
        #expect(points.allSatisfy { $0.1 == $0.1.rounded() })
        #expect(points.filter { $0.0 <= 0.1 }.reduce(0) { $0 + $1.1 } == 3)
        #expect(points.filter { $0.0 > 0.1 && $0.0 <= 0.5 }.reduce(0) { $0 + $1.1 } == 20)
        #expect(points.last! == (0.9, 2), "the +Inf bucket's observations sit at the reported maximum")
    }
}
