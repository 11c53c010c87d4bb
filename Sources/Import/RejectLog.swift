import Foundation
import QuiverFormats
import QuiverReading

/// The reject file of `--on-error skip`: one JSON object per rejected record, with the input
/// file, its line, the reason and the record as written. Created on the first reject only.
final class RejectLog {
    let path: String
    private let inputPath: String
    private var handle: FileHandle?
    private(set) var count = 0

    init(path: String, inputPath: String) {
        self.path = path
        self.inputPath = inputPath
    }

    func add(line: Int, reason: String, text: String) throws {
        if handle == nil {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw InputError(path: path, problem: "cannot create the reject file")
            }
            handle = FileHandle(forWritingAtPath: path)
        }
        count += 1
        let entry =
            "{\"file\":\(ValueText.jsonString(inputPath)),\"line\":\(line),\"reason\":\(ValueText.jsonString(reason)),\"record\":\(ValueText.jsonString(text))}\n"
        try handle?.write(contentsOf: Data(entry.utf8))
    }

    func close() throws {
        try handle?.synchronize()
        try handle?.close()
        handle = nil
    }
}
