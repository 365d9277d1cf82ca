/// Which release of obs this is. It is what `obs-agent --version` and `obsctl --version` print, the
/// agent's "obs-agent starting" log line, `/healthz`, `obs_agent_build_info` on `/metrics`, and the
/// User-Agent of every HTTP request the agent makes (so CloudTrail and the services' access logs
/// tell the agent's calls apart). Raised with each release.
public enum BuildInfo {
    package static let version = "0.1.0"
    public static let userAgent = "obs-agent/\(version)"
    /// obsctl's, for the requests `obsctl apply` makes.
    package static let obsctlUserAgent = "obsctl/\(version)"
}
