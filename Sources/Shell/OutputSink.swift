import Foundation

/// Where results go: standard output, or the file named by `.output FILE`.
final class OutputSink {
    private var file: FileHandle?
    private(set) var path: String?

    var isStandardOutput: Bool { file == nil }

    func write(_ text: String) {
        guard !text.isEmpty else { return }
        (file ?? FileHandle.standardOutput).write(Data(text.utf8))
    }

    /// Sends results to `path` (created or truncated), or back to standard output for nil.
    func redirect(to path: String?) throws {
        try? file?.close()
        file = nil
        self.path = nil
        guard let path else { return }
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw StatementFailure(message: "cannot write to \(path)")
        }
        file = handle
        self.path = path
    }
}
