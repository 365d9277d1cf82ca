/// The alarms obsctl generates, by area. Thresholds are starting points for an e-commerce API on
/// Spring Boot and PostgreSQL; each runbook says what to look at first.
public enum AlarmCatalog {
    package static let all: [AlarmRule] = api + pools + database + databaseActivity + auth + agent

    static let api: [AlarmRule] = [
        AlarmRule(
            id: "api-error-rate", area: .api, scope: .service, title: "5xx rate above 5 %",
            condition: .threshold(.init("m1", APIMetrics.errorRate, "Average"), .greaterThan, 5),
            runbook:
                "More than 5 % of the service's requests answer 5xx. Open the API dashboard: if Faults rose on one route, read that route's traces and logs; if on all routes, check the Connection pools and Database dashboards (timeouts, locks) and the last deploy."
        ),
        AlarmRule(
            id: "api-latency-p99", area: .api, scope: .service, title: "p99 latency above 1.5 s",
            condition: .threshold(.init("m1", APIMetrics.latency, "p99"), .greaterThan, 1500),
            runbook:
                "The slowest 1 % of the service's requests take more than 1.5 s. Check the pool's AcquireTime (waiting for a connection) and the database's slow statements before scaling the service."
        ),
        AlarmRule(
            id: "api-requests-anomaly", area: .api, scope: .service, title: "request volume outside its usual band",
            condition: .anomaly(.init("m1", APIMetrics.requests, "Sum"), .outsideBand, width: 3),
            runbook:
                "Request volume left its learned band. A drop usually means clients cannot reach the service (ALB target health, DNS, a failed deploy); a surge may be a retry storm or a crawler: check the gateway's access logs."
        ).with {
            $0.evaluationPeriods = 5
            $0.datapointsToAlarm = 5
        },
    ]

    static let pools: [AlarmRule] = [
        AlarmRule(
            id: "pool-utilization", area: .pools, scope: .service, title: "connection pool above 90 %",
            condition: .threshold(.init("m1", PoolMetrics.utilization, "Maximum"), .greaterThan, 90),
            runbook:
                "The busiest instance's HikariCP pool has more than 90 % of its connections lent out. Look at UsageTime (connections held too long: a slow query or a transaction left open) before raising maximumPoolSize; PostgreSQL's max_connections bounds the sum over all services."
        ).with {
            $0.evaluationPeriods = 5
            $0.datapointsToAlarm = 5
        },
        AlarmRule(
            id: "pool-timeouts", area: .pools, scope: .service, title: "connection requests timing out",
            condition: .threshold(.init("m1", PoolMetrics.timeouts, "Sum"), .greaterThan, 0),
            runbook:
                "Threads gave up waiting for a database connection (connectionTimeout): each is a failed request. Check PendingThreads and UsageTime here, and locks and long transactions on the Database dashboard."
        ).with {
            $0.evaluationPeriods = 1
            $0.datapointsToAlarm = 1
        },
        AlarmRule(
            id: "pool-pending", area: .pools, scope: .service, title: "threads waiting for connections",
            condition: .threshold(.init("m1", PoolMetrics.pending, "Maximum"), .greaterThanOrEqual, 1),
            runbook:
                "Threads have been waiting for a connection for five minutes: the pool is too small for the load, or connections are held too long (see UsageTime)."
        ).with {
            $0.evaluationPeriods = 5
            $0.datapointsToAlarm = 5
        },
    ]

    static let database: [AlarmRule] = [
        AlarmRule(
            id: "db-deadlocks", area: .database, scope: .database, title: "deadlocks",
            condition: .threshold(.init("m1", PostgresMetrics.deadlocks, "Sum"), .greaterThan, 0),
            runbook:
                "PostgreSQL detected a deadlock and rolled one transaction back. Its log has both statements (log_lock_waits); fix the order in which the two code paths lock rows."
        ).with {
            $0.evaluationPeriods = 1
            $0.datapointsToAlarm = 1
        },
        AlarmRule(
            id: "db-cache-hit-ratio", area: .database, scope: .database, title: "buffer cache hit ratio below 90 %",
            condition: .math(
                expression: "100*m1/(m1+m2)", label: "cache hit %",
                [.init("m1", PostgresMetrics.blocksHit, "Sum"), .init("m2", PostgresMetrics.blocksRead, "Sum")],
                .lessThan, 90),
            runbook:
                "Fewer than 90 % of block reads come from shared buffers for 15 minutes: the working set outgrew memory, or a query scans a large table. Look for sequential scans and missing indexes before moving to a larger instance class."
        ).with {
            $0.evaluationPeriods = 15
            $0.datapointsToAlarm = 15
        },
        AlarmRule(
            id: "db-rollback-ratio", area: .database, scope: .database, title: "rollbacks above 10 % of transactions",
            condition: .math(
                expression: "100*m2/(m1+m2)", label: "rollback %",
                [.init("m1", PostgresMetrics.commits, "Sum"), .init("m2", PostgresMetrics.rollbacks, "Sum")],
                .greaterThan, 10),
            runbook:
                "More than 10 % of transactions roll back: application errors (constraint violations, serialization failures) or clients cancelling. The services' error logs say which."
        ),
        AlarmRule(
            id: "db-idle-in-transaction", area: .database, scope: .database, title: "sessions idle in transaction",
            condition: .threshold(
                .init("m1", PostgresMetrics.connections, "Maximum", fixed: ["State": "idle in transaction"]),
                .greaterThan, 5),
            runbook:
                "Sessions hold a transaction open while doing nothing: they keep locks and stop vacuum. The application_name of those sessions names the service; look for a code path that opens a transaction and waits on something else."
        ).with {
            $0.evaluationPeriods = 5
            $0.datapointsToAlarm = 5
        },
    ]

    static let databaseActivity: [AlarmRule] = [
        AlarmRule(
            id: "db-blocked-sessions", area: .database, scope: .database, title: "sessions blocked on locks",
            condition: .threshold(.init("m1", PostgresMetrics.blockedSessions, "Maximum"), .greaterThan, 0),
            runbook:
                "Sessions have waited for another session's lock for five minutes. pg_stat_activity with pg_blocking_pids(pid) names the blocker; its application_name names the service. A blocker idle in transaction is an application bug; a long DDL is a migration that should use lock_timeout."
        ).with {
            $0.evaluationPeriods = 5
            $0.datapointsToAlarm = 5
        },
        AlarmRule(
            id: "db-long-transaction", area: .database, scope: .database,
            title: "a transaction open for more than an hour",
            condition: .threshold(.init("m1", PostgresMetrics.oldestTransactionAge, "Maximum"), .greaterThan, 3600),
            runbook:
                "A transaction has been open for more than an hour: it holds back vacuum (dead tuples, bloat, transaction id age) and may hold locks. Find it in pg_stat_activity by xact_start and end it if it is stuck."
        ).with {
            $0.evaluationPeriods = 3
            $0.datapointsToAlarm = 3
        },
        AlarmRule(
            id: "db-xid-wraparound", area: .database, scope: .database, title: "transaction id age above 1 billion",
            condition: .threshold(.init("m1", PostgresMetrics.xidAge, "Maximum"), .greaterThan, 1_000_000_000),
            runbook:
                "The database's oldest unfrozen transaction id is more than a billion transactions old; at about 2.1 billion PostgreSQL stops accepting writes. Check that autovacuum runs (long transactions and abandoned replication slots block it) and run VACUUM FREEZE on the oldest tables."
        ).with {
            $0.evaluationPeriods = 1
            $0.datapointsToAlarm = 1
        },
    ]

    static let auth: [AlarmRule] = [
        AlarmRule(
            id: "auth-failure-rate", area: .auth, scope: .global, title: "login failure rate above 20 %",
            condition: .threshold(.init("m1", AuthMetrics.failureRate, "Average"), .greaterThan, 20),
            runbook:
                "More than 20 % of logins fail. By reason: invalid_user_credentials from few clients is password guessing (block at the WAF); user_not_found across many names is credential stuffing; a jump right after a deploy is a client misconfiguration."
        ),
        AlarmRule(
            id: "auth-failures-anomaly", area: .auth, scope: .global, title: "failed logins above their usual band",
            condition: .anomaly(.init("m1", AuthMetrics.loginFailure, "Sum"), .aboveBand, width: 3),
            runbook:
                "Failed logins rose above their learned band. Check the Authentication dashboard's reasons and Keycloak's event log for the addresses involved."
        ),
    ]

    static let agent: [AlarmRule] = [
        AlarmRule(
            id: "agent-dropped", area: .agentHealth, scope: .global, title: "the agent dropped data",
            condition: .threshold(.init("m1", AgentMetrics.dropped, "Sum"), .greaterThan, 0),
            runbook:
                "obs-agent lost observations, log events or segments. Obs/Agent Dropped by Reason names why (spool_full: AWS has been unreachable longer than the spool holds; ring_full: a source outran the flush); the agent's log says more."
        ).with {
            $0.evaluationPeriods = 1
            $0.datapointsToAlarm = 1
        },
        AlarmRule(
            id: "agent-spool-age", area: .agentHealth, scope: .global, title: "delivery more than 10 minutes behind",
            condition: .threshold(.init("m1", AgentMetrics.spoolOldestAge, "Maximum"), .greaterThan, 600),
            runbook:
                "The oldest spooled batch is more than 10 minutes old: AWS refuses or cannot be reached. Check the agent's log for the status codes, its task role (obsctl iam-policy) and the VPC endpoints."
        ),
        AlarmRule(
            id: "agent-scrape-down", area: .agentHealth, scope: .service, title: "metrics endpoint not scraped",
            condition: .threshold(.init("m1", AgentMetrics.scrapeUp, "Minimum"), .lessThan, 1),
            runbook:
                "An instance's metrics endpoint did not answer, answered an error or sent something unparsable, or the agent itself is gone (no data). obs-agent check shows why for each instance."
        ).with {
            $0.evaluationPeriods = 3
            $0.datapointsToAlarm = 3
            $0.treatMissingData = "breaching"
        },
    ]
}
