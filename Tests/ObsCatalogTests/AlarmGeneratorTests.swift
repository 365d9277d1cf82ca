import Foundation
import ObsCore
import Testing

@testable import ObsCatalog

/// The alarms as CloudWatch will take them: every metric read with dimensions the agent emits,
/// names and descriptions within the API's limits, composites naming alarms that exist.
@Suite struct AlarmGeneratorTests {
    let generator = AlarmGenerator(
        targets: AlarmTargets(
            services: ["user-service", "keycloak"],
            databases: [
                .init(instance: "ecom-db", database: "microservices_ecom"),
                .init(instance: "ecom-db", database: "keycloak"),
            ]))

    @Test func everyAlarmReadsASeriesTheAgentEmits() {
        for alarm in generator.alarms() {
            for read in alarm.rule.reads {
                let names = Set(alarm.dimensions.keys).union(read.fixed.keys)
                let emitted = [Set(read.metric.dimensions)] + read.metric.rollups.map(Set.init)
                #expect(emitted.contains(names), "\(alarm.name) reads \(read.metric.name) by \(names.sorted())")
                #expect(Catalog.builtIn[read.metric.id] != nil)
                if read.statistic.hasPrefix("p") {
                    #expect(
                        read.metric.kind == .distribution, "\(alarm.name): percentiles exist only for distributions")
                }
                if read.metric.kind == .counter {
                    #expect(read.statistic == "Sum", "\(alarm.name): a counter is read as its Sum")
                }
            }
        }
    }

    @Test func alarmsAreMadePerServiceAndDatabase() {
        let names = generator.alarms().map(\.name)
        #expect(Set(names).count == names.count, "names are unique")
        #expect(names.contains("obs-api-error-rate-user-service"))
        #expect(names.contains("obs-db-deadlocks-ecom-db-keycloak"))
        #expect(names.contains("obs-auth-failure-rate"))
        let perService = AlarmCatalog.all.filter { $0.scope == .service }.count
        let perDatabase = AlarmCatalog.all.filter { $0.scope == .database }.count
        let global = AlarmCatalog.all.filter { $0.scope == .global }.count
        #expect(names.count == 2 * perService + 2 * perDatabase + global)
    }

    @Test func requestsKeepWithinThePutMetricAlarmLimits() {
        for alarm in generator.alarms() {
            let request = generator.request(alarm)
            #expect((request["AlarmName"] as! String).count <= 255)
            #expect((request["AlarmDescription"] as! String).count <= 1024)
            let metrics = request["Metrics"] as? [[String: Any]] ?? []
            #expect(metrics.count <= 10)
            if metrics.isEmpty {
                #expect(request["MetricName"] != nil && request["Threshold"] != nil)
                #expect((request["Statistic"] == nil) != (request["ExtendedStatistic"] == nil))
            } else {
                #expect(request["MetricName"] == nil, "a math alarm names its metrics in Metrics only")
                #expect(
                    metrics.filter { $0["ReturnData"] as? Bool == true }.count
                        == (request["ThresholdMetricId"] == nil ? 1 : 2))
            }
        }
    }

    @Test func compositesNameTheirAreasAlarms() {
        let names = Set(generator.alarms().map(\.name))
        for (area, alarms) in generator.areas() {
            let rule = generator.compositeRequest(area, alarms, topic: "arn")["AlarmRule"] as! String
            #expect(rule.count <= 10_240)
            let referenced = rule.components(separatedBy: "ALARM(\"").dropFirst().map { $0.prefix { $0 != "\"" } }.map(
                String.init)
            #expect(Set(referenced) == Set(alarms.map(\.name)))
            #expect(Set(referenced).isSubset(of: names))
        }
    }

    @Test func theTemplateHasOneResourcePerAlarmAndComposite() throws {
        let template = generator.cloudFormation()
        let resources = template["Resources"] as! [String: [String: Any]]
        #expect(resources.count == generator.alarms().count + generator.areas().count)
        #expect(resources.keys.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
        let composite = try #require(resources["ObsApiComposite"])
        #expect(
            (composite["Properties"] as! [String: Any])["AlarmActions"] as! [[String: String]] == [
                ["Ref": "CriticalTopicArn"]
            ])
    }
}
