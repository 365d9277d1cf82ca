/// A CloudWatch dashboard body (the `DashboardBody` JSON of PutDashboard), reduced to what obsctl
/// generates: metric widgets drawn from SEARCH expressions and metric math, alarm-status widgets
/// and text widgets.
public struct DashboardBody: Codable, Sendable, Equatable {
    public var widgets: [Widget]
    /// Dashboard variables (a Service selector on dashboards that cover many services).
    public var variables: [Variable]?

    public init(widgets: [Widget], variables: [Variable]? = nil) {
        self.widgets = widgets
        self.variables = variables
    }

    /// A pattern variable: the console replaces `pattern` across the body with the value chosen
    /// among those `search` finds in the dimension `populateFrom`.
    public struct Variable: Codable, Sendable, Equatable {
        public var type: String
        public var pattern: String
        public var inputType: String
        public var id: String
        public var label: String
        public var defaultValue: String
        public var visible: Bool
        public var search: String
        public var populateFrom: String
    }

    /// One widget on the dashboard's 24-column grid.
    public struct Widget: Codable, Sendable, Equatable {
        public var type: String
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int
        public var properties: Properties
    }

    /// The properties of a metric, alarm or text widget (a text widget has only `markdown`, an
    /// alarm widget `title` and `alarms`).
    public struct Properties: Codable, Sendable, Equatable {
        public var markdown: String?
        public var title: String?
        public var view: String?
        public var stacked: Bool?
        public var region: String?
        public var period: Int?
        public var stat: String?
        public var metrics: [[MetricExpression]]?
        /// Alarm ARNs, for an alarm-status widget.
        public var alarms: [String]?
    }

    /// One entry of a widget's `metrics` array, in the expression form.
    public struct MetricExpression: Codable, Sendable, Equatable {
        public var expression: String
        public var id: String
        public var label: String
        /// False for an expression only other expressions read (the terms of a ratio).
        public var visible: Bool?
    }
}
