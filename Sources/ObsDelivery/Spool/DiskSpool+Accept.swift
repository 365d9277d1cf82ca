import Logging
import ObsCore

extension DiskSpool {
    /// Appends `batch` for a sink: on failure (a disk error, a batch larger than the spool) its items
    /// are counted as dropped (`spool_full`) and the error logged. Returns the id, or nil.
    @discardableResult
    func accept(_ batch: SpooledBatch, selfMetrics: SelfMetrics, logger: Logger) -> SpoolBatchID? {
        do {
            let id = try append(batch)
            logger.debug("spooled", metadata: ["batch": "\(id)", "kind": "\(batch.kind)", "items": "\(batch.items)"])
            return id
        } catch {
            selfMetrics.count(.spoolFull, batch.items)
            logger.error(
                "cannot spool a batch",
                metadata: ["error": "\(error)", "kind": "\(batch.kind)", "items": "\(batch.items)"])
            return nil
        }
    }
}
