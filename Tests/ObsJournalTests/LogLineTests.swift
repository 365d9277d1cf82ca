import Foundation
import ObsAWS
import Testing

@testable import ObsJournal

/// Keycloak event lines in the styles Keycloak 22 to 24 write, written for these tests.
struct KeycloakEventLineTests {
    static let prefix = "2026-11-27 10:00:00,123 WARN  [org.keycloak.events] (executor-thread-1) "

    @Test func bareValuesUpTo23WithARealmNameWithSpaces() throws {
        let line = Self.prefix
            + "type=LOGIN_ERROR, realmId=Shop Customers EU, clientId=web-shop, userId=null, ipAddress=10.1.2.3, error=invalid_user_credentials, auth_method=openid-connect, redirect_uri=https://shop.example.com/cb?a=1, b=2, code_id=abc, username=alice"
        guard case .event(let event) = KeycloakEventLine.parse(line) else { Issue.record("not read"); return }
        #expect(event.type == "LOGIN_ERROR")
        #expect(event.realm == "Shop Customers EU")
        #expect(event.client == "web-shop")
        #expect(event.user == "alice")
        #expect(event.ipAddress == "10.1.2.3")
        #expect(event.error == "invalid_user_credentials")
    }

    @Test func quotedValuesFrom24AndLater22Patches() throws {
        let line = Self.prefix
            + #"type="LOGIN_ERROR", realmId="1f0e-42", realmName="Shop Customers", clientId="web-shop", userId="null", ipAddress="10.1.2.3", error="user_not_found", auth_method="openid-connect", username="o\"brien, the second""#
        guard case .event(let event) = KeycloakEventLine.parse(line) else { Issue.record("not read"); return }
        #expect(event.realm == "Shop Customers", "realmName wins over realmId")
        #expect(event.user == #"o"brien, the second"#)
        #expect(event.error == "user_not_found")
        #expect(event.client == "web-shop")
    }

    @Test func aSingleQuotedDetailAndASuccessWithoutError() {
        let line = Self.prefix + "type=LOGIN, realmId=shop, clientId=web, userId=42, ipAddress=10.0.0.1, auth_method=openid-connect, consent='no consent required', username=bob"
        guard case .event(let event) = KeycloakEventLine.parse(line) else { Issue.record("not read"); return }
        #expect(event.type == "LOGIN")
        #expect(event.error == nil)
        #expect(event.user == "bob")
    }

    @Test func aStackTraceAfterAnEventIsNotReadAndItsFramesAreNotEvents() {
        let message = Self.prefix + "type=LOGIN_ERROR, realmId=shop, clientId=web, userId=null, ipAddress=10.0.0.1, error=expired_code\n"
            + "org.keycloak.authentication.AuthenticationFlowException: type=FAKE, realmId=x\n\tat org.keycloak.events.EventBuilder.send(EventBuilder.java:1)"
        guard case .event(let event) = KeycloakEventLine.parse(message) else { Issue.record("not read"); return }
        #expect(event.error == "expired_code")
        #expect(KeycloakEventLine.parse("\tat org.keycloak.events.EventBuilder.send(EventBuilder.java:200)") == .notAnEvent)
        #expect(KeycloakEventLine.parse("Caused by: java.lang.IllegalStateException") == .notAnEvent)
        #expect(KeycloakEventLine.parse("GET /realms/shop 200") == .notAnEvent)
        #expect(KeycloakEventLine.parse(Self.prefix + "something else entirely") == .unreadable)
        #expect(KeycloakEventLine.parse(Self.prefix + "type=LOGIN, clientId=web") == .unreadable, "no realm")
    }
}

struct AccessLogPatternTests {
    @Test func readsMethodRouteStatusAndDuration() throws {
        let pattern = try AccessLogPattern(#"^\S+ \S+ \S+ \[[^\]]+\] "(?<method>[A-Za-z]+) (?<path>\S+)[^"]*" (?<status>\d{3}) \S+ (?<millis>[\d.]+)"#)
        let request = try #require(pattern.match(#"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "get /api/users/6f1c2a9e-0b1d-4c55-9f3e-2b1a5d7e9c10/orders?page=2 HTTP/1.1" 404 10 3.5"#))
        #expect(request == .init(method: "GET", route: "/api/users/{id}/orders", status: 404, milliseconds: 3.5))
        #expect(pattern.match("garbage") == nil)
    }

    @Test func aPatternWithoutTheNeededGroupsIsRefused() {
        #expect(throws: AccessLogPattern.PatternError.self) { try AccessLogPattern(#"(?<status>\d+)"#) }
        #expect(throws: AccessLogPattern.PatternError.self) { try AccessLogPattern(#"(?<method>[A-Z+"#) }
    }
}

/// PutLogEvents batches built event by event: every limit holds, the body is valid JSON.
struct LogBatchBuilderTests {
    func append(_ builder: inout LogBatchBuilder, _ message: String, _ timestamp: Int64) {
        var message = message
        message.withUTF8 { builder.append(timestamp: timestamp, message: UnsafeRawBufferPointer($0)) }
    }

    @Test func countBytesSpanAndOrderDecideWhetherAnEventFits() {
        var builder = LogBatchBuilder(group: "/g", stream: "s")
        builder.maxEvents = 3
        append(&builder, "a", 1000)
        append(&builder, "bb", 2000)
        #expect(builder.bytes == 1 + 2 + 2 * 26)
        #expect(builder.fits(messageBytes: 10, timestamp: 2000))
        #expect(!builder.fits(messageBytes: 10, timestamp: 1999), "chronological")
        #expect(!builder.fits(messageBytes: 10, timestamp: 1000 + 24 * 3600 * 1000 + 1), "24 hours")
        append(&builder, "c", 3000)
        #expect(!builder.fits(messageBytes: 1, timestamp: 3000), "count")

        var big = LogBatchBuilder(group: "/g", stream: "s")
        let message = String(repeating: "x", count: 100_000)
        var events = 0
        while big.fits(messageBytes: message.utf8.count, timestamp: 5) {
            append(&big, message, 5)
            events += 1
        }
        #expect(events == 1_048_576 / (100_000 + 26))
        #expect(big.bytes <= CloudWatchLogsLimits.maxBatchBytes)
    }

    @Test func theBodyIsValidJSONWithEveryCharacterKept() throws {
        var builder = LogBatchBuilder(group: "/ecs/prod/user \"svc\"", stream: "host/unit")
        let messages = ["line\r\nnext", "tab\there \u{01} \\ \"q\"", "é ✓ 𝄞", ""]
        for (i, message) in messages.enumerated() { append(&builder, message, Int64(i)) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(builder.finish())) as? [String: Any])
        #expect(object["logGroupName"] as? String == "/ecs/prod/user \"svc\"")
        let events = try #require(object["logEvents"] as? [[String: Any]])
        #expect(events.map { $0["message"] as? String } == messages)
        #expect(events.map { ($0["timestamp"] as? NSNumber)?.int64Value } == [0, 1, 2, 3])
    }

    @Test func invalidUTF8IsRepairedAndAnOversizedMessageTruncatedWithAMarker() {
        var out: [UInt8] = []
        let raw: [UInt8] = [0x61, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80, 0xFF]
        raw.withUnsafeBytes { #expect(!MessageText.repaired($0, limit: 1000, into: &out)) }
        #expect(String(decoding: out, as: UTF8.self) == "a\u{FFFD}(\u{FFFD}\u{FFFD}\u{FFFD}😀\u{FFFD}")
        raw.withUnsafeBytes { #expect(!MessageText.isValid($0)) }

        let long = Array(String(repeating: "é", count: 200_000).utf8)
        let truncated = long.withUnsafeBytes { MessageText.repaired($0, limit: CloudWatchLogsLimits.maxMessageBytes, into: &out) }
        #expect(truncated)
        #expect(out.count <= CloudWatchLogsLimits.maxMessageBytes)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasSuffix("bytes]") && text.contains("…[truncated "))
        #expect(!text.contains("\u{FFFD}"), "cut at a character boundary")
    }
}

struct JournalPositionTests {
    @Test func positionsOrderBySeqnumThenMonotonicThenRealtime() throws {
        let a = try #require(JournalPosition(cursor: "s=aa;i=10;b=b1;m=100;t=5000;x=1"))
        let b = try #require(JournalPosition(cursor: "s=aa;i=1a;b=b1;m=50;t=4000;x=2"))
        #expect(a.precedes(b), "same seqnum space: by seqnum (hex)")
        #expect(a.entriesBetween(b) == 9)
        let c = try #require(JournalPosition(cursor: "s=cc;i=1;b=b1;m=200;t=1000;x=3"))
        #expect(a.precedes(c), "same boot: by monotonic")
        #expect(a.entriesBetween(c) == nil)
        let d = try #require(JournalPosition(cursor: "s=dd;i=1;b=b2;m=1;t=6000;x=4"))
        #expect(a.precedes(d) && !d.precedes(a), "else by realtime")
        #expect(JournalPosition(cursor: "not a cursor") == nil)
    }
}
