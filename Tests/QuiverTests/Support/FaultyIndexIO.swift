import Foundation
import QuiverIndex

#if canImport(Glibc)
    import Glibc
#endif

/// An `IndexFileIO` that fails on purpose, for index files under one directory only (other
/// suites write their own index files meanwhile, through the same process-wide table).
final class FaultyIndexIO: @unchecked Sendable {
    enum Fault: Sendable, CustomStringConvertible {
        /// The nth write call (1-based) fails with `code`.
        case write(nth: Int, code: Int32)
        /// Writes succeed until `bytes` bytes are written in all, then fail with ENOSPC (a short
        /// write first, as a filling disk gives).
        case diskFull(afterBytes: Int)
        /// The nth fsync (1-based) fails with EIO.
        case sync(nth: Int)
        /// Creating the temporary file fails with `code`.
        case open(code: Int32)
        /// Renaming the finished file over the old one fails with EIO.
        case rename

        var description: String {
            switch self {
            case .write(let n, let code): "write #\(n) fails (\(String(cString: strerror(code))))"
            case .diskFull(let bytes): "disk full after \(bytes) bytes"
            case .sync(let n): "fsync #\(n) fails"
            case .open(let code): "creating the file fails (\(String(cString: strerror(code))))"
            case .rename: "rename fails"
            }
        }

        /// What the error message must say about the failure.
        var expectedText: String {
            switch self {
            case .write(_, let code), .open(let code): String(cString: strerror(code))
            case .diskFull: "the disk is full"
            case .sync: "syncing"
            case .rename: "renaming"
            }
        }
    }

    let scope: String
    let fault: Fault
    private let lock = NSLock()
    private var writes = 0, syncs = 0, bytes = 0
    private(set) var triggered = 0

    init(scope: String, fault: Fault) {
        self.scope = scope.hasSuffix("/") ? scope : scope + "/"
        self.fault = fault
    }

    private func fail(_ code: Int32) -> Bool {
        triggered += 1
        errno = code
        return true
    }

    /// The table to install: the system's, with this fault for files under `scope`.
    var io: IndexFileIO {
        let system = IndexFileIO.system
        return IndexFileIO(
            open: { [self] path, flags, mode in
                if path.hasPrefix(scope), case .open(let code) = fault, lock.withLock({ fail(code) }) { return -1 }
                return system.open(path, flags, mode)
            },
            write: { [self] fd, pointer, count, offset, path in
                guard path.hasPrefix(scope) else { return system.write(fd, pointer, count, offset, path) }
                let limit: Int? = lock.withLock {
                    writes += 1
                    switch fault {
                    case .write(let n, _) where writes == n:
                        triggered += 1
                        return 0
                    case .diskFull(let total):
                        let room = max(0, min(total - bytes, count))
                        bytes += room
                        if room == 0 { triggered += 1 }
                        return room
                    default:
                        return nil
                    }
                }
                guard let limit else { return system.write(fd, pointer, count, offset, path) }
                guard limit > 0 else {
                    if case .write(_, let code) = fault { errno = code } else { errno = ENOSPC }
                    return -1
                }
                return system.write(fd, pointer, limit, offset, path)
            },
            truncate: { fd, length, path in system.truncate(fd, length, path) },
            sync: { [self] fd, path in
                if path.hasPrefix(scope), case .sync(let n) = fault,
                    lock.withLock({
                        syncs += 1
                        return syncs == n && fail(EIO)
                    })
                {
                    return -1
                }
                return system.sync(fd, path)
            },
            rename: { [self] from, to in
                if from.hasPrefix(scope), case .rename = fault, lock.withLock({ fail(EIO) }) { return -1 }
                return system.rename(from, to)
            })
    }

    /// Runs `body` with this fault installed, then puts the system's table back.
    func during<T>(_ body: () throws -> T) rethrows -> T {
        IndexFileIO.current = io
        defer { IndexFileIO.current = .system }
        return try body()
    }
}
