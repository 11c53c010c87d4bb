import Foundation

/// Label (rowid) → node, for updates and deletes; searches never need it.
///
/// The checkpointed part is a table of (label, node) pairs sorted by label in the index file,
/// searched in place by bisection, so opening an index reads none of it. Changes since the
/// checkpoint live in a small dictionary in front of it.
final class LabelMap: @unchecked Sendable {
    private let table: UnsafeRawPointer?
    private let tableCount: Int
    /// Whatever owns the memory `table` points into (the mapped region of the file).
    private let owner: AnyObject?
    private var overlay: [Int64: UInt32] = [:]
    private let lock = NSLock()
    private static let removed = UInt32.max
    static let entrySize = 16

    /// `table` points at `count` entries of (Int64 label, UInt32 node, UInt32 padding).
    init(table: UnsafeRawPointer?, count: Int, owner: AnyObject? = nil) {
        self.table = table
        self.tableCount = count
        self.owner = owner
    }

    func node(for label: Int64) -> UInt32? {
        lock.lock()
        let override = overlay[label]
        lock.unlock()
        if let override { return override == Self.removed ? nil : override }
        return lookUpTable(label)
    }

    func set(_ label: Int64, _ node: UInt32) {
        lock.lock()
        overlay[label] = node
        lock.unlock()
    }

    func remove(_ label: Int64) {
        lock.lock()
        overlay[label] = Self.removed
        lock.unlock()
    }

    private func lookUpTable(_ label: Int64) -> UInt32? {
        guard let table else { return nil }
        var low = 0
        var high = tableCount
        while low < high {
            let mid = (low + high) / 2
            let value = table.loadUnaligned(fromByteOffset: mid * Self.entrySize, as: Int64.self)
            if value == label { return table.loadUnaligned(fromByteOffset: mid * Self.entrySize + 8, as: UInt32.self) }
            if value < label { low = mid + 1 } else { high = mid }
        }
        return nil
    }
}
