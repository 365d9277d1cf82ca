/// Scrape bodies as a Spring Boot 3 service (Micrometer, HikariCP, http.server.requests with
/// percentile histograms) and Keycloak 22 (metrics SPI, Agroal) write them, written for these
/// tests from the two projects' documented output, with the counters given by the test.
enum ScrapeBodies {
    /// Cumulative state of one Spring service.
    struct Spring {
        var active = 3.0
        var idle = 7.0
        var pending = 0.0
        var timeouts = 2.0
        var acquireCount = 1000.0
        var acquireSum = 1.5
        /// GET /api/products/{id} 200: cumulative bucket counts at the bounds below.
        var getBuckets: [Double] = [10, 40, 100, 100, 100, 100, 100, 100]
        var getSum = 5.0
        var postBuckets: [Double] = [0, 0, 0, 2, 2, 2, 2, 2]
        var postSum = 0.4
        var getMax = 0.8
    }

    static let bounds = ["0.005", "0.01", "0.05", "0.1", "0.25", "0.5", "1.0", "+Inf"]

    static func spring(_ s: Spring) -> String {
        let tags = #"application="user-service",pool="HikariPool-1","#
        var out = """
            # HELP hikaricp_connections Total connections
            # TYPE hikaricp_connections gauge
            hikaricp_connections{\(tags)} \(s.active + s.idle)
            # HELP hikaricp_connections_active Active connections
            # TYPE hikaricp_connections_active gauge
            hikaricp_connections_active{\(tags)} \(s.active)
            # HELP hikaricp_connections_idle Idle connections
            # TYPE hikaricp_connections_idle gauge
            hikaricp_connections_idle{\(tags)} \(s.idle)
            # HELP hikaricp_connections_pending Pending threads
            # TYPE hikaricp_connections_pending gauge
            hikaricp_connections_pending{\(tags)} \(s.pending)
            # HELP hikaricp_connections_max Max connections
            # TYPE hikaricp_connections_max gauge
            hikaricp_connections_max{\(tags)} 10.0
            # HELP hikaricp_connections_min Min connections
            # TYPE hikaricp_connections_min gauge
            hikaricp_connections_min{\(tags)} 10.0
            # HELP hikaricp_connections_timeout_total Connection timeout total count
            # TYPE hikaricp_connections_timeout_total counter
            hikaricp_connections_timeout_total{\(tags)} \(s.timeouts)
            # HELP hikaricp_connections_acquire_seconds Connection acquire time
            # TYPE hikaricp_connections_acquire_seconds summary
            hikaricp_connections_acquire_seconds_count{\(tags)} \(s.acquireCount)
            hikaricp_connections_acquire_seconds_sum{\(tags)} \(s.acquireSum)
            # HELP hikaricp_connections_acquire_seconds_max Connection acquire time
            # TYPE hikaricp_connections_acquire_seconds_max gauge
            hikaricp_connections_acquire_seconds_max{\(tags)} 0.004
            # HELP jvm_threads_live_threads The current number of live threads
            # TYPE jvm_threads_live_threads gauge
            jvm_threads_live_threads{application="user-service",} 42.0
            # HELP http_server_requests_seconds
            # TYPE http_server_requests_seconds histogram

            """
        let get =
            #"application="user-service",error="none",exception="none",method="GET",outcome="SUCCESS",status="200",uri="/api/products/{id}","#
        let post =
            #"application="user-service",error="none",exception="DataAccessException",method="POST",outcome="SERVER_ERROR",status="500",uri="/api/orders","#
        for (labels, buckets, sum) in [(get, s.getBuckets, s.getSum), (post, s.postBuckets, s.postSum)] {
            for (bound, count) in zip(bounds, buckets) {
                out += "http_server_requests_seconds_bucket{\(labels)le=\"\(bound)\",} \(count)\n"
            }
            out += "http_server_requests_seconds_count{\(labels)} \(buckets.last!)\n"
            out += "http_server_requests_seconds_sum{\(labels)} \(sum)\n"
        }
        out += """
            # HELP http_server_requests_seconds_max
            # TYPE http_server_requests_seconds_max gauge
            http_server_requests_seconds_max{\(get)} \(s.getMax)
            http_server_requests_seconds_max{\(post)} 0.2

            """
        return out
    }

    /// Cumulative state of Keycloak 22 with the metrics SPI.
    struct Keycloak {
        var logins = 100.0
        var badPassword = 5.0
        var unknownUser = 1.0
        var refreshTokens = 50.0
        var active = 2.0
        var available = 8.0
    }

    static func keycloak(_ k: Keycloak) -> String {
        """
        # HELP keycloak_logins Total successful logins
        # TYPE keycloak_logins counter
        keycloak_logins{realm="ecom",provider="keycloak",client_id="web-app",} \(k.logins)
        # HELP keycloak_login_attempts Total login attempts
        # TYPE keycloak_login_attempts counter
        keycloak_login_attempts{realm="ecom",provider="keycloak",client_id="web-app",} \(k.logins + k.badPassword + k.unknownUser)
        # HELP keycloak_failed_login_attempts Total failed login attempts
        # TYPE keycloak_failed_login_attempts counter
        keycloak_failed_login_attempts{realm="ecom",provider="keycloak",error="invalid_user_credentials",client_id="web-app",} \(k.badPassword)
        keycloak_failed_login_attempts{realm="ecom",provider="keycloak",error="user_not_found",client_id="web-app",} \(k.unknownUser)
        # HELP keycloak_refresh_tokens Total number of successful token refreshes
        # TYPE keycloak_refresh_tokens counter
        keycloak_refresh_tokens{realm="ecom",provider="keycloak",client_id="web-app",} \(k.refreshTokens)
        # HELP agroal_active_count Number of active connections.
        # TYPE agroal_active_count gauge
        agroal_active_count{datasource="default"} \(k.active)
        # HELP agroal_available_count Number of idle connections in the pool, available to be reserved.
        # TYPE agroal_available_count gauge
        agroal_available_count{datasource="default"} \(k.available)
        # HELP agroal_awaiting_count Approximate number of threads blocked, waiting to acquire a connection.
        # TYPE agroal_awaiting_count gauge
        agroal_awaiting_count{datasource="default"} 0.0

        """
    }

    /// Newer Keycloak's user events, as OpenMetrics.
    static func keycloakUserEvents(success: Double, failure: Double, refresh: Double) -> String {
        """
        # TYPE keycloak_user_events counter
        # HELP keycloak_user_events Keycloak user events
        keycloak_user_events_total{client_id="web-app",error="",event="login",idp="",realm="ecom"} \(success)
        keycloak_user_events_created{client_id="web-app",error="",event="login",idp="",realm="ecom"} 1.7e9
        keycloak_user_events_total{client_id="web-app",error="invalid_user_credentials",event="login",idp="",realm="ecom"} \(failure)
        keycloak_user_events_total{client_id="web-app",error="",event="refresh_token",idp="",realm="ecom"} \(refresh)
        # EOF

        """
    }
}
