import ObsXRay
import ServiceLifecycle

/// Runs the X-Ray receiver until graceful shutdown; it then hands on what it still had batched.
struct XRayService: Service, CustomStringConvertible {
    let source: XRaySource

    var description: String { "xray(\(source.settings.host):\(source.port))" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
    }
}
