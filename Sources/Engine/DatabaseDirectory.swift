import Foundation
import QuiverStorage

/// A Quiver database is a directory:
///
///     DIR/QUIVER          marker: "quiver-database <format version>"
///     DIR/rows.sqlite     every row (SQLite, WAL mode: rows.sqlite-wal, rows.sqlite-shm beside it)
///     DIR/indexes/*.hnsw  HNSW index checkpoints (see QuiverIndex)
///
/// The directory is created on first use. An existing directory that is neither empty nor a
/// Quiver database is refused, so a mistyped path never scatters files into unrelated folders.
public struct DatabaseDirectory: Sendable {
    public static let formatVersion = 1
    static let markerName = "QUIVER"
    static let rowsName = "rows.sqlite"

    public let path: String
    public var rowsPath: String { (path as NSString).appendingPathComponent(Self.rowsName) }
    /// Vector index files (checkpoints; derived from the rows, rebuilt by REINDEX).
    public var indexesPath: String { (path as NSString).appendingPathComponent("indexes") }
    var markerPath: String { (path as NSString).appendingPathComponent(Self.markerName) }

    public struct InvalidDirectory: Error, CustomStringConvertible {
        public var description: String
    }

    /// Opens `path`, creating it (and the marker) when `create` is true and it does not exist.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw InvalidDirectory(description: "\(path) is a file, not a database directory")
            }
            if files.fileExists(atPath: markerPath) {
                try checkMarker()
                return
            }
            let contents = (try? files.contentsOfDirectory(atPath: path)) ?? []
            guard contents.isEmpty else {
                throw InvalidDirectory(
                    description: "\(path) is not empty and is not a Quiver database (no \(Self.markerName) file)")
            }
        } else if !create {
            throw InvalidDirectory(description: "no database at \(path)")
        }
        guard create else { throw InvalidDirectory(description: "no database at \(path)") }
        do {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
            try "quiver-database \(Self.formatVersion)\n".write(toFile: markerPath, atomically: true, encoding: .utf8)
        } catch {
            throw InvalidDirectory(
                description: "cannot create database directory \(path): \(error.localizedDescription)")
        }
    }

    private func checkMarker() throws {
        let text = (try? String(contentsOfFile: markerPath, encoding: .utf8)) ?? ""
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count == 2, words[0] == "quiver-database", let version = Int(words[1]) else {
            throw InvalidDirectory(
                description: "\(markerPath) is damaged; expected 'quiver-database \(Self.formatVersion)'")
        }
        guard version <= Self.formatVersion else {
            throw InvalidDirectory(
                description: "\(path) has format version \(version); this quiver reads up to \(Self.formatVersion)")
        }
    }
}
