import ObsDelivery

/// Runs a ``SpoolShipper`` until graceful shutdown, then gives it `shutdownTimeout` seconds to send
/// what is still spooled (the flusher's last flush among it); what is left waits for the next start.
struct ShipperService: Service, CustomStringConvertible {
    let shipper: SpoolShipper
    let shutdownTimeout: Double

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await shipper.run()
        }
        await shipper.drain(within: shutdownTimeout)
    }

    var description: String { "shipper(\(shipper.sender.kind))" }
}
