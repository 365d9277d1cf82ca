import ObsCore

/// Authentication, from Keycloak: its metrics (the metrics SPI's `keycloak_*` families, or newer
/// Keycloak's `keycloak_user_events_total`) and its event log lines read from the journal.
public enum AuthMetrics {
    public static let namespace = "Obs/Auth"

    package static let loginSuccess = MetricDefinition(
        id: "auth.login_success", namespace: namespace, name: "LoginSuccess", unit: .count, kind: .counter,
        dimensions: ["Realm", "Client"],
        description: "Successful user logins per realm and client.",
        source: "keycloak_logins; keycloak_user_events_total{event=\"login\",error=\"\"}; event log type=LOGIN",
        placement: DashboardPlacement(dashboard: .auth, widget: "Logins", statistic: "Sum"))
    package static let loginFailure = MetricDefinition(
        id: "auth.login_failure", namespace: namespace, name: "LoginFailure", unit: .count, kind: .counter,
        dimensions: ["Realm", "Client", "Reason"],
        description:
            "Failed user logins per realm, client and reason (Keycloak's error, such as invalid_user_credentials or user_not_found).",
        source:
            "keycloak_failed_login_attempts{error}; keycloak_user_events_total{event=\"login\",error!=\"\"}; event log type=LOGIN_ERROR, error=",
        placement: DashboardPlacement(dashboard: .auth, widget: "Failed logins by reason", statistic: "Sum")
    ).rolled([[]])
    package static let failureRate = MetricDefinition(
        id: "auth.failure_rate", namespace: namespace, name: "AuthFailureRate", unit: .percent, kind: .gauge,
        dimensions: ["Realm", "Client"],
        description:
            "Failed logins as a percentage of all login attempts, weighted by attempts (its Average over a period is the period's true rate; its SampleCount is the number of attempts).",
        source: "LoginFailure / (LoginSuccess + LoginFailure), each scrape",
        placement: DashboardPlacement(dashboard: .auth, widget: "Login failure rate", statistic: "Average")
    ).rolled([[]])
    package static let events = MetricDefinition(
        id: "auth.events", namespace: namespace, name: "AuthEvents", unit: .count, kind: .counter,
        dimensions: ["Realm", "Client", "Event"],
        description:
            "Other successful authentication events per realm and client: client_login, refresh_token, code_to_token, register.",
        source:
            "keycloak_client_login_attempts, keycloak_refresh_tokens, keycloak_code_to_tokens, keycloak_registrations; keycloak_user_events_total",
        placement: DashboardPlacement(dashboard: .auth, widget: "Token and registration events", statistic: "Sum"))
    package static let eventErrors = MetricDefinition(
        id: "auth.event_errors", namespace: namespace, name: "AuthEventErrors", unit: .count, kind: .counter,
        dimensions: ["Realm", "Client", "Event", "Reason"],
        description: "Failed authentication events other than user logins, per event and reason.",
        source:
            "keycloak_failed_client_login_attempts, keycloak_refresh_tokens_errors, keycloak_code_to_tokens_errors, keycloak_registrations_errors; keycloak_user_events_total",
        placement: DashboardPlacement(dashboard: .auth, widget: "Token and registration errors", statistic: "Sum"))

    package static let failingUsers = MetricDefinition(
        id: "auth.failing_users", namespace: namespace, name: "FailingUsers", unit: .count, kind: .counter,
        dimensions: ["Realm"],
        description:
            "Distinct user names (or user ids) with at least one failed login in the interval, per realm: many at once from few addresses is password spraying. Its Sum over one flush interval is the distinct count.",
        source: "Keycloak event log lines (org.keycloak.events, type=LOGIN_ERROR), from the journal",
        placement: DashboardPlacement(
            dashboard: .auth, widget: "Distinct users and addresses failing", statistic: "Sum"))
    package static let failingAddresses = MetricDefinition(
        id: "auth.failing_addresses", namespace: namespace, name: "FailingAddresses", unit: .count, kind: .counter,
        dimensions: ["Realm"],
        description:
            "Distinct client addresses with at least one failed login in the interval, per realm: a rise with few users is a brute-force attempt. Its Sum over one flush interval is the distinct count.",
        source: "Keycloak event log lines (org.keycloak.events, type=LOGIN_ERROR), from the journal",
        placement: DashboardPlacement(
            dashboard: .auth, widget: "Distinct users and addresses failing", statistic: "Sum"))

    package static let all = [
        loginSuccess, loginFailure, failureRate, events, eventErrors, failingUsers, failingAddresses,
    ]
}
