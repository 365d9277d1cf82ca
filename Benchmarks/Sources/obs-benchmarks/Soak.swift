import Foundation
import ObsJournal

// Load for scripts/soak: X-Ray datagrams and journal entries at a steady rate, each numbered so
// that what lands can be checked one by one.

/// Sends `rate` SDK-shaped datagrams a second for `seconds` to 127.0.0.1:`port`, each segment with
/// an id of its own (the hexadecimal of its number plus 0x1000_0000_0000). While `holdFile` exists
/// it sends nothing (the soak holds it across the agent's SIGKILL: what is sent to no process is
/// lost in any design), and sends the rest afterwards. Prints how many it sent.
nonisolated func soakXRay(port: Int, rate: Int, seconds: Int, holdFile: String? = nil) {
    let total = rate * seconds
    let epoch = Int(Date().timeIntervalSince1970)
    let routes = ["/api/users/", "/api/products/", "/api/orders/"]
    let held = { holdFile.map { access($0, F_OK) == 0 } ?? false }
    _ = sendPaced(to: port, rate: rate, total: total, pause: 500, held: held) { n in
        let id = String(format: "%016llx", UInt64(n) &+ 0x1000_0000_0000)
        let trace = String(format: "1-%08x-%024llx", epoch, UInt64(n))
        let time = Date().timeIntervalSince1970
        let status = n % 20 == 0 ? 500 : (n % 7 == 0 ? 404 : 200)
        let body =
            #"{"id":"\#(id)","name":"user-service","start_time":\#(time - 0.02),"end_time":\#(time),"trace_id":"\#(trace)","#
            + #""http":{"request":{"method":"GET","url":"http://user-service:8080\#(routes[n % 3])\#(n % 1000)"},"response":{"status":\#(status)}}"#
            + (status == 500 ? #","fault":true"# : (status == 404 ? #","error":true"# : "")) + "}"
        return Array(#"{"format":"json","version":1}"#.utf8) + [0x0A] + Array(body.utf8)
    }
    print(total)
}

/// Writes `rate` journal entries a second for `seconds` in export format to standard output,
/// stamped now, numbered in their messages (`soak entry N`), over four services; some are Keycloak
/// event lines. Pipe it into systemd-journal-remote.
nonisolated func soakJournal(rate: Int, seconds: Int) {
    let units = ["api-gateway.service", "user-service.service", "product-service.service", "keycloak.service"]
    let total = rate * seconds
    let start = now()
    var written = 0
    var out: [UInt8] = []
    while written < total {
        let due = min(total, Int(Double(now() - start) / 1e9 * Double(rate)) + 1)
        out.removeAll(keepingCapacity: true)
        while written < due {
            let unit = units[written % 4]
            let realtime = UInt64(Date().timeIntervalSince1970 * 1_000_000)
            var message = "soak entry \(written) "
            if unit == "keycloak.service" {
                message +=
                    "2026-11-27 10:00:00,000 WARN  [org.keycloak.events] (executor-thread-1) type=LOGIN_ERROR, realmId=shop, clientId=web, userId=null, ipAddress=10.0.\(written % 200).\(written % 250), error=invalid_user_credentials, username=user\(written % 3000)"
            } else {
                message +=
                    "INFO 1 --- [nio-8080-exec-\(written % 20)] c.e.shop.Controller : handled GET /api/items/\(written % 5000) in \(written % 90) ms"
            }
            JournalExportFormat.append(
                realtime: realtime, monotonic: realtime - 1_700_000_000_000_000,
                bootID: "0123456789abcdef0123456789abcdef",
                fields: [
                    ("_HOSTNAME", Array("soak-node".utf8)), ("_SYSTEMD_UNIT", Array(unit.utf8)),
                    ("PRIORITY", Array("6".utf8)), ("MESSAGE", Array(message.utf8)),
                ],
                to: &out)
            written += 1
        }
        writeAll(out)
        usleep(5_000)
    }
    FileHandle.standardError.write(Data("\(written)\n".utf8))
}
