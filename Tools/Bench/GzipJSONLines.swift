import Foundation

/// The records of a gzip-compressed JSON Lines file of the real set (gzip does the inflating).
enum GzipJSONLines {
    static func read(_ path: String) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let lines = pipe.fileHandleForReading.readDataToEndOfFile().split(separator: UInt8(ascii: "\n"))
        process.waitUntilExit()
        return try lines.map { try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
    }
}
