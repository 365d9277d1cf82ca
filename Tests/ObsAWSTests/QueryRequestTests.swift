import Testing

@testable import ObsAWS

@Suite struct QueryRequestTests {
    @Test func structuresAndListsAreFlattenedAsTheQueryProtocolWants() {
        let request = QueryRequest(
            action: "PutCompositeAlarm", version: "2010-08-01",
            parameters: [
                "AlarmName": "obs-api", "ActionsEnabled": true, "AlarmActions": ["arn:aws:sns:eu-west-1:1:t"],
                "Metrics": [
                    [
                        "Id": "m1",
                        "MetricStat": ["Metric": ["Dimensions": [["Name": "Service", "Value": "a b"]]], "Period": 60],
                    ]
                ],
                "Threshold": 90.0, "Ratio": 0.5,
            ])
        let flat = Dictionary(uniqueKeysWithValues: request.parameters.map { ($0.name, $0.value) })
        #expect(flat["ActionsEnabled"] == "true")
        #expect(flat["AlarmActions.member.1"] == "arn:aws:sns:eu-west-1:1:t")
        #expect(flat["Metrics.member.1.MetricStat.Metric.Dimensions.member.1.Value"] == "a b")
        #expect(flat["Metrics.member.1.MetricStat.Period"] == "60")
        #expect(flat["Threshold"] == "90" && flat["Ratio"] == "0.5")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.hasPrefix("Action=PutCompositeAlarm&Version=2010-08-01&"))
        #expect(body.contains("Metrics.member.1.MetricStat.Metric.Dimensions.member.1.Value=a%20b"))
    }

    @Test func answersAreUnescaped() {
        let xml =
            "<GetDashboardResult><DashboardBody>{&quot;widgets&quot;:[{&quot;x&quot;:&#48;}] &amp; &lt;&gt;</DashboardBody></GetDashboardResult>"
        #expect(QueryResponse.text(of: "DashboardBody", in: xml) == "{\"widgets\":[{\"x\":0}] & <>")
        #expect(QueryResponse.text(of: "Missing", in: xml) == nil)
    }
}
