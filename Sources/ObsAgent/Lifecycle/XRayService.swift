import ObsDelivery
import ObsXRay

/// Runs the X-Ray receiver until graceful shutdown; it then hands on what it still had batched and
/// waits until that is in the spool (the shippers, which stop after this service, send it).
struct XRayService: Service, CustomStringConvertible {
    let source: XRaySource
    let sink: any TraceSink

    var description: String { "xray(\(source.settings.host):\(source.port))" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
        sink.flush()
    }
}
