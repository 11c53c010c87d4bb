import Foundation

/// The open indexes of this process, by file path: every connection to the same database
/// shares one in-memory index instead of opening its file and replaying the log again.
package final class IndexRegistry: @unchecked Sendable {
    package static let shared = IndexRegistry()
    private var indexes: [String: AnyObject] = [:]
    private let lock = NSLock()

    /// The index of `kind` at `path`, opened now if it is not open yet.
    func index<Kind: IndexKind>(at path: String, kind: Kind) throws -> Kind.Index {
        lock.lock()
        defer { lock.unlock() }
        if let index = indexes[path] as? Kind.Index { return index }
        let index = try kind.open(path: path)
        indexes[path] = index
        return index
    }

    func register(_ index: some MaintainedIndex) {
        lock.lock()
        indexes[index.path] = index
        lock.unlock()
    }

    /// Lets go of the index at `path` (its file was dropped or replaced).
    package func forget(_ path: String) {
        lock.lock()
        indexes[path] = nil
        lock.unlock()
    }

    /// Replaces an open index by a fresh opening of its file (another process checkpointed).
    func reload<Kind: IndexKind>(_ path: String, kind: Kind) throws -> Kind.Index {
        forget(path)
        return try index(at: path, kind: kind)
    }
}
