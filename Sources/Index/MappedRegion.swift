import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A memory region that starts as a private mapping of part of a file and grows with anonymous
/// memory behind it.
///
/// Address space for `reserve` bytes is taken up front (no memory, just addresses), so growing
/// within it never moves the region: pointers into it stay valid while other threads read (a
/// parallel build reserves before it starts). Outgrowing the reservation moves the region to a
/// new one twice the size — callers hold the index's write lock then, so no reader holds a
/// pointer. The mapping is private (copy-on-write): changes never reach the file; a checkpoint
/// writes a new file instead, which keeps the file on disk a consistent snapshot whatever
/// happens to the process.
final class MappedRegion: @unchecked Sendable {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var reserve: Int
    /// Bytes currently backed (file part plus anonymous growth), a multiple of the page size.
    private(set) var committed: Int
    private let growthLock = NSLock()
    /// Off while threads read the region without the index's write lock (a parallel build):
    /// then outgrowing the reservation is an error rather than a move under their feet.
    var allowsRelocation = true

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    struct MapError: Error, CustomStringConvertible { var description: String }

    /// Maps `length` bytes of `file` from `offset` (page aligned) into a fresh reservation.
    init(reserve: Int, file: Int32? = nil, offset: Int = 0, length: Int = 0) throws {
        let reserve = Self.roundUp(max(reserve, length, Self.pageSize))
        guard let raw = mmap(nil, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            raw != MAP_FAILED
        else {
            throw MapError(
                description: "cannot reserve \(reserve) bytes of address space: \(String(cString: strerror(errno)))")
        }
        base = raw
        self.reserve = reserve
        committed = 0
        if let file, length > 0 {
            let mapped = Self.roundUp(length)
            guard mmap(base, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, file, off_t(offset)) != MAP_FAILED
            else {
                munmap(base, reserve)
                throw MapError(description: "cannot map the index file: \(String(cString: strerror(errno)))")
            }
            committed = mapped
        }
    }

    deinit { munmap(base, reserve) }

    /// Makes at least `bytes` usable; new memory reads as zeros. Thread-safe.
    func ensure(_ bytes: Int) throws {
        if bytes <= committed { return }
        growthLock.lock()
        defer { growthLock.unlock() }
        if bytes <= committed { return }
        // Grow geometrically so that appends stay amortised O(1).
        let target = Self.roundUp(max(bytes, committed + committed / 2, 1 << 20))
        if target > reserve {
            guard allowsRelocation else {
                throw MapError(
                    description: "the index outgrew the room reserved for a parallel build (\(reserve) bytes)")
            }
            try relocate(to: target)
            return
        }
        guard
            mmap(
                base + committed, target - committed, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED
        else {
            throw MapError(description: "out of memory growing the index to \(target) bytes")
        }
        committed = target
    }

    /// Moves the contents to a new reservation twice as large (or `target`, if larger).
    private func relocate(to target: Int) throws {
        let newReserve = Self.roundUp(max(target, 2 * reserve))
        guard let raw = mmap(nil, newReserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            raw != MAP_FAILED
        else {
            throw MapError(
                description: "cannot reserve \(newReserve) bytes of address space: \(String(cString: strerror(errno)))")
        }
        guard mmap(raw, target, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED
        else {
            munmap(raw, newReserve)
            throw MapError(description: "out of memory growing the index to \(target) bytes")
        }
        raw.copyMemory(from: base, byteCount: committed)
        munmap(base, reserve)
        base = raw
        reserve = newReserve
        committed = target
    }

    /// Address space to reserve for a region now holding `bytes`: room to double, at least 64 MiB.
    static func reservation(for bytes: Int) -> Int { max(2 * bytes, 64 << 20) }

    static func roundUp(_ n: Int) -> Int { (n + pageSize - 1) / pageSize * pageSize }
}
