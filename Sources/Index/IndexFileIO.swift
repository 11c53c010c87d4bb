import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The system calls that write index files, as a table of functions.
///
/// Every index file reaches the disk through `IndexFile.write` (bulk builds, CREATE INDEX,
/// REINDEX and checkpoints all end there), and it calls only these. Replacing the table lets a
/// test make the Nth write or sync fail, or the disk fill up, and check what each failure
/// leaves behind — without a real full disk. Each function behaves as its system call: -1 and
/// `errno` on failure. The path is passed along so a replacement can pick the files it fails.
public struct IndexFileIO: Sendable {
    public var open: @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    public var write:
        @Sendable (_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ offset: off_t, _ path: String) -> Int
    public var truncate: @Sendable (_ fd: Int32, _ length: off_t, _ path: String) -> Int32
    public var sync: @Sendable (_ fd: Int32, _ path: String) -> Int32
    public var rename: @Sendable (_ from: String, _ to: String) -> Int32

    public init(
        open: @escaping @Sendable (String, Int32, mode_t) -> Int32,
        write: @escaping @Sendable (Int32, UnsafeRawPointer, Int, off_t, String) -> Int,
        truncate: @escaping @Sendable (Int32, off_t, String) -> Int32,
        sync: @escaping @Sendable (Int32, String) -> Int32,
        rename: @escaping @Sendable (String, String) -> Int32
    ) {
        self.open = open
        self.write = write
        self.truncate = truncate
        self.sync = sync
        self.rename = rename
    }

    /// The real thing.
    public static let system = IndexFileIO(
        open: { path, flags, mode in Glibc.open(path, flags, mode) },
        write: { fd, bytes, count, offset, _ in pwrite(fd, bytes, count, offset) },
        truncate: { fd, length, _ in ftruncate(fd, length) },
        sync: { fd, _ in fsync(fd) },
        rename: { from, to in Glibc.rename(from, to) })

    private static let lock = NSLock()
    nonisolated(unsafe) private static var installed = IndexFileIO.system

    /// The table in use by this process (the system's unless a test installed another).
    public static var current: IndexFileIO {
        get { lock.withLock { installed } }
        set { lock.withLock { installed = newValue } }
    }
}
