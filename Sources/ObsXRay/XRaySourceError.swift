/// Why the X-Ray source cannot start.
public enum XRaySourceError: Error, Sendable, CustomStringConvertible {
    case cannotBind(String)

    public var description: String {
        switch self {
        case .cannotBind(let reason): return "xray: cannot listen on \(reason)"
        }
    }
}
