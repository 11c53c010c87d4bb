import Foundation

/// Entered lines, kept across sessions in a file (by default `~/.quiver_history`, `$HOME`
/// honoured). Each entry is one line of the file with backslashes and line breaks escaped, so a
/// multi-line statement comes back whole. Entries are appended as they are made, so a session
/// that is killed keeps what it had; the file is trimmed to the newest `limit` on load.
final class History {
    private(set) var entries: [String] = []
    let path: String?
    let limit: Int

    init(path: String?, limit: Int = 2000) {
        self.path = path
        self.limit = limit
        load()
    }

    /// `$QUIVER_HISTORY`, else `$HOME/.quiver_history`; nil when neither is known.
    static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let explicit = environment["QUIVER_HISTORY"], !explicit.isEmpty { return explicit }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return (home as NSString).appendingPathComponent(".quiver_history")
    }

    /// Adds an entry unless it is blank or repeats the previous one.
    func add(_ entry: String) {
        let trimmed = entry.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed != entries.last else { return }
        entries.append(trimmed)
        guard let path else { return }
        let line = Self.escape(trimmed) + "\n"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(
                atPath: path, contents: Data(line.utf8), attributes: [.posixPermissions: 0o600])
        }
    }

    private func load() {
        guard let path, let data = FileManager.default.contents(atPath: path) else { return }
        entries = String(decoding: data, as: UTF8.self).split(separator: "\n").map { Self.unescape(String($0)) }
        if entries.count > limit {
            entries.removeFirst(entries.count - limit)
            let text = entries.map { Self.escape($0) + "\n" }.joined()
            try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    static func escape(_ entry: String) -> String {
        entry.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\r", with: "\\r")
    }

    static func unescape(_ line: String) -> String {
        var out = ""
        var escaped = false
        for c in line {
            if escaped {
                out.append(c == "n" ? "\n" : c == "r" ? "\r" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
