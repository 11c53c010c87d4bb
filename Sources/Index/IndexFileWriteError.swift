import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A checkpoint or build that could not be written. The temporary file is removed and the
/// path still holds what it held before (the previous checkpoint, or nothing for a build).
public struct IndexFileWriteError: Error, CustomStringConvertible {
    /// The index file that was to be written.
    public var path: String
    /// What failed: "syncing …/ix-1f.hnsw.tmp", "writing 4096 bytes at offset 0 of …".
    public var step: String
    /// The errno of the failed call.
    public var code: Int32

    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }

    public var description: String {
        "cannot write index file \(path): \(step) failed: \(String(cString: strerror(code)))"
            + (isDiskFull ? " (the disk is full)" : "") + "; the file was left as it was"
    }
}
