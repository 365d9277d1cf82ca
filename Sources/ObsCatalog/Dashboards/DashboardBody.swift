/// A CloudWatch dashboard body (the `DashboardBody` JSON of PutDashboard), reduced to what obsctl
/// generates: metric widgets drawn from SEARCH expressions and metric math, alarm-status widgets
/// and text widgets.
public struct DashboardBody: Codable, Sendable, Equatable {
    package var widgets: [Widget]
    /// Dashboard variables (a Service selector on dashboards that cover many services).
    package var variables: [Variable]?

    package init(widgets: [Widget], variables: [Variable]? = nil) {
        self.widgets = widgets
        self.variables = variables
    }

    /// A pattern variable: the console replaces `pattern` across the body with the value chosen
    /// among those `search` finds in the dimension `populateFrom`.
    public struct Variable: Codable, Sendable, Equatable {
        public var type: String
        package var pattern: String
        package var inputType: String
        public var id: String
        package var label: String
        package var defaultValue: String
        package var visible: Bool
        package var search: String
        package var populateFrom: String
    }

    /// One widget on the dashboard's 24-column grid.
    public struct Widget: Codable, Sendable, Equatable {
        public var type: String
        package var x: Int
        package var y: Int
        package var width: Int
        package var height: Int
        package var properties: Properties
    }

    /// The properties of a metric, alarm or text widget (a text widget has only `markdown`, an
    /// alarm widget `title` and `alarms`).
    public struct Properties: Codable, Sendable, Equatable {
        package var markdown: String?
        package var title: String?
        package var view: String?
        package var stacked: Bool?
        package var region: String?
        package var period: Int?
        package var stat: String?
        package var metrics: [[MetricExpression]]?
        /// Alarm ARNs, for an alarm-status widget.
        package var alarms: [String]?
    }

    /// One entry of a widget's `metrics` array, in the expression form.
    public struct MetricExpression: Codable, Sendable, Equatable {
        package var expression: String
        public var id: String
        package var label: String
        /// False for an expression only other expressions read (the terms of a ratio).
        package var visible: Bool?
    }
}
