import Foundation
import QuiverIndex

/// The open indexes of this process, by file path: every `Database` on the same directory
/// shares one in-memory graph per index instead of mapping and replaying it again.
final class IndexRegistry: @unchecked Sendable {
    static let shared = IndexRegistry()
    private var indexes: [String: HNSWIndex] = [:]
    private let lock = NSLock()

    func index(at path: String) throws -> HNSWIndex {
        lock.lock()
        defer { lock.unlock() }
        if let index = indexes[path] { return index }
        let index = try HNSWIndex.open(path: path)
        indexes[path] = index
        return index
    }

    func register(_ index: HNSWIndex) {
        lock.lock()
        indexes[index.path] = index
        lock.unlock()
    }

    func forget(_ path: String) {
        lock.lock()
        indexes[path] = nil
        lock.unlock()
    }

    /// Replaces a loaded index by a fresh mapping of its file (another process checkpointed).
    func reload(_ path: String) throws -> HNSWIndex {
        forget(path)
        return try index(at: path)
    }
}
