import CSystemd

/// The service manager's notification socket (`sd_notify`), for `Type=notify` units: READY=1
/// once the agent runs, WATCHDOG=1 while its flush loop is alive, STOPPING=1 at shutdown. Outside
/// systemd (no `NOTIFY_SOCKET`) every call does nothing.
public enum SystemdNotify {
    /// Sends `state` (`READY=1`, `WATCHDOG=1`, `STATUS=...`). Returns whether the manager got it.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// The watchdog interval the unit asks for (`WatchdogSec=`), in seconds, if any.
    package static var watchdogInterval: Double? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return Double(microseconds) / 1_000_000
    }
}
