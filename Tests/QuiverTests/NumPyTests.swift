import Foundation
import QuiverFormats
import Testing

@Suite struct NumPyTests {
    /// A fresh directory per test, removed by the caller's `defer`.
    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A `.npy` file with the given header dictionary text, padded as numpy pads it.
    static func npyBytes(header: String, major: UInt8 = 1, data: [UInt8]) -> [UInt8] {
        let lengthSize = major == 1 ? 2 : 4
        var dict = Array(header.utf8)
        let unpadded = 6 + 2 + lengthSize + dict.count + 1
        dict += Array(repeating: UInt8(ascii: " "), count: (64 - unpadded % 64) % 64) + [UInt8(ascii: "\n")]
        let length = (0..<lengthSize).map { UInt8(truncatingIfNeeded: dict.count >> (8 * $0)) }
        return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + dict + data
    }

    static func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// Whether `python3 -c "import numpy"` works, for the tests that compare with numpy itself.
    static let numpyAvailable: Bool = (try? runPython("import numpy")) != nil

    @discardableResult
    static func runPython(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return String(decoding: text, as: UTF8.self)
    }

    @Test func float32RoundTripKeepsEveryBit() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.npy").path
        let values: [Float] = [
            0, -0.0, 1, -1.5, .pi, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity,
            -.infinity, .nan, 1e-8, 0.1,
        ]
        try NumPy.writeFloatMatrix(path: path, rows: 3, columns: 4, values: values)
        let matrix = try NumPy.readFloatMatrix(path: path)
        #expect(matrix.rows == 3 && matrix.columns == 4)
        #expect(matrix.values.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(Array(matrix[row: 1]).map(\.bitPattern) == values[4..<8].map(\.bitPattern))
        // numpy aligns the data to 64 bytes; so do we.
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect((size - values.count * 4) % 64 == 0)
    }

    @Test func int64RoundTrip() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ids.npy").path
        let values: [Int64] = [.min, -1, 0, 1, 42, .max]
        try NumPy.writeInt64Matrix(path: path, rows: 2, columns: 3, values: values)
        let matrix = try NumPy.readInt64Matrix(path: path)
        #expect(matrix == NumPyMatrix(rows: 2, columns: 3, values: values))
    }

    @Test func emptyMatrixRoundTrip() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("empty.npy").path
        try NumPy.writeFloatMatrix(path: path, rows: 0, columns: 384, values: [])
        let matrix = try NumPy.readFloatMatrix(path: path)
        #expect(matrix.rows == 0 && matrix.columns == 384 && matrix.values.isEmpty)
    }

    @Test func writerRejectsWrongValueCount() throws {
        #expect(throws: NumPyError(path: "/nonexistent/x.npy", problem: .valueCountMismatch(expected: 6, found: 5))) {
            try NumPy.writeInt64Matrix(path: "/nonexistent/x.npy", rows: 2, columns: 3, values: [1, 2, 3, 4, 5])
        }
    }

    @Test(.enabled(if: NumPyTests.numpyAvailable, "python3 with numpy is not installed"))
    func readsFilesWrittenByNumPy() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.runPython(
            """
            import numpy as np
            np.save('\(dir.path)/f4.npy', np.arange(12, dtype='<f4').reshape(3, 4) / 7)
            np.save('\(dir.path)/i4.npy', np.array([[-5, 7], [2**31 - 1, -2**31]], dtype='<i4'))
            np.save('\(dir.path)/i8.npy', np.arange(5, dtype='<i8') - 2)
            """)
        let floats = try NumPy.readFloatMatrix(path: dir.path + "/f4.npy")
        #expect(floats.rows == 3 && floats.columns == 4)
        #expect(floats.values == (0..<12).map { Float($0) / 7 })
        let ints = try NumPy.readInt64Matrix(path: dir.path + "/i4.npy")
        #expect(ints == NumPyMatrix(rows: 2, columns: 2, values: [-5, 7, Int64(Int32.max), Int64(Int32.min)]))
        // A 1-D array is a column: one element per row, as numpy iterates it.
        let ids = try NumPy.readInt64Matrix(path: dir.path + "/i8.npy")
        #expect(ids == NumPyMatrix(rows: 5, columns: 1, values: [-2, -1, 0, 1, 2]))
    }

    @Test(.enabled(if: NumPyTests.numpyAvailable, "python3 with numpy is not installed"))
    func numpyReadsFilesWeWrite() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try NumPy.writeFloatMatrix(path: dir.path + "/f.npy", rows: 2, columns: 2, values: [0.1, -2, 3e-5, 4])
        try NumPy.writeInt64Matrix(path: dir.path + "/i.npy", rows: 1, columns: 3, values: [7, -8, 1 << 40])
        let out = try Self.runPython(
            """
            import numpy as np
            f = np.load('\(dir.path)/f.npy'); i = np.load('\(dir.path)/i.npy')
            print(f.dtype, f.shape, f.tolist() == np.array([0.1, -2, 3e-5, 4], dtype='<f4').reshape(2, 2).tolist())
            print(i.dtype, i.shape, i.tolist())
            """)
        #expect(out == "float32 (2, 2) True\nint64 (1, 3) [[7, -8, 1099511627776]]\n")
    }

    @Test(.enabled(if: NumPyTests.numpyAvailable, "python3 with numpy is not installed"))
    func float16MatchesNumPyForEveryBitPattern() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.runPython(
            """
            import numpy as np
            h = np.arange(65536, dtype='<u2').view('<f2').reshape(256, 256)
            np.save('\(dir.path)/h.npy', h)
            with np.errstate(invalid='ignore'):
                np.save('\(dir.path)/f.npy', h.astype('<f4'))
            """)
        let half = try NumPy.readFloatMatrix(path: dir.path + "/h.npy")
        let single = try NumPy.readFloatMatrix(path: dir.path + "/f.npy")
        #expect(half.rows == 256 && half.columns == 256)
        #expect(half.values.map(\.bitPattern) == single.values.map(\.bitPattern))
    }

    @Test func formatVersions2And3AndPython2Headers() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Self.littleEndianBytes([1, 2, 3, 4, 5, 6])
        let headers: [(UInt8, String)] = [
            (2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
            (3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'note': '向量'}"),
            (1, "{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<f4'}"),
            (1, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": [2, 3]}"),
        ]
        for (i, (major, header)) in headers.enumerated() {
            let path = dir.appendingPathComponent("v\(i).npy").path
            try Self.write(Self.npyBytes(header: header, major: major, data: data), to: URL(fileURLWithPath: path))
            let matrix = try NumPy.readFloatMatrix(path: path)
            #expect(matrix == NumPyMatrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6]), "\(header)")
        }
    }

    /// Each header paired with the message it must produce.
    static let badHeaders: [(String, String)] = [
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            "unsupported dtype '<f8' (expected float32 or float16)"
        ),
        ("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "big-endian dtype '>f4' unsupported"),
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "fortran_order arrays unsupported"),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 1), }",
            "unsupported 3-D shape (2, 3, 1) (expected 1-D or 2-D)"
        ),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "unsupported 0-D shape () (expected 1-D or 2-D)"),
        ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "unsupported dtype"),
        ("{'descr': '<f4', 'shape': (2, 3), }", "malformed .npy header: 'fortran_order' missing"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", "malformed .npy header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3), }", "integer too large"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", "array too large"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", "unexpected text after the dictionary"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3", "malformed .npy header"),
        ("['descr', '<f4']", "header is not a dictionary"),
        (String(repeating: "(", count: 1000), "nesting too deep"),
        ("{'descr': '<f4', 'fortran_order': __import__('os'), 'shape': (2, 3)}", "malformed .npy header"),
    ]

    @Test func rejectsBadHeadersWithClearMessages() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bad.npy").path
        for (header, message) in Self.badHeaders {
            try Self.write(
                Self.npyBytes(header: header, data: Self.littleEndianBytes([1, 2, 3, 4, 5, 6])),
                to: URL(fileURLWithPath: path))
            do {
                _ = try NumPy.readFloatMatrix(path: path)
                Issue.record("accepted \(header)")
            } catch {
                #expect(error.description.hasPrefix(path + ": "))
                #expect(error.description.contains(message), "\(error.description) for \(header)")
            }
        }
    }

    @Test func int64ReaderNamesItsTypes() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("f.npy").path
        try NumPy.writeFloatMatrix(path: path, rows: 1, columns: 1, values: [1])
        #expect(throws: NumPyError(path: path, problem: .unsupportedDType("<f4", expected: "int64 or int32"))) {
            try NumPy.readInt64Matrix(path: path)
        }
    }

    @Test func rejectsFilesThatAreNotNumPy() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("garbage.npy").path
        for garbage: [UInt8] in [[], [0x93], Array("hello, world, not numpy".utf8), Array(repeating: 0, count: 4096)] {
            try Self.write(garbage, to: URL(fileURLWithPath: path))
            #expect(throws: NumPyError(path: path, problem: .badMagic)) { try NumPy.readFloatMatrix(path: path) }
        }
        let future = [0x93] + Array("NUMPY".utf8) + [9, 0, 0, 0]
        try Self.write(future, to: URL(fileURLWithPath: path))
        #expect(throws: NumPyError(path: path, problem: .unsupportedVersion(major: 9, minor: 0))) {
            try NumPy.readFloatMatrix(path: path)
        }
        let missing = dir.appendingPathComponent("missing.npy").path
        #expect(throws: NumPyError(path: missing, problem: .cannotOpen("no such file"))) {
            try NumPy.readFloatMatrix(path: missing)
        }
        #expect(throws: NumPyError(path: dir.path, problem: .cannotOpen("is a directory"))) {
            try NumPy.readFloatMatrix(path: dir.path)
        }
    }

    @Test func truncatedFileReportsExpectedAndFoundBytes() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.npy").path
        try NumPy.writeFloatMatrix(path: path, rows: 10, columns: 8, values: Array(repeating: 1, count: 80))
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try Self.write(Array(full.dropLast(100)), to: URL(fileURLWithPath: path))
        do {
            _ = try NumPy.readFloatMatrix(path: path)
            Issue.record("accepted a truncated file")
        } catch {
            #expect(error.problem == .truncated(expectedBytes: 320, foundBytes: 220))
            #expect(
                error.description == "\(path): file shorter than its header says: expected 320 bytes of data, found 220"
            )
        }
    }

    /// Every prefix and many random corruptions of a valid file must throw, never crash.
    @Test func neverCrashesOnDamagedFiles() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("d.npy").path
        try NumPy.writeFloatMatrix(path: path, rows: 3, columns: 2, values: [1, 2, 3, 4, 5, 6])
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for length in 0..<full.count {
            try Self.write(Array(full.prefix(length)), to: URL(fileURLWithPath: path))
            #expect(throws: NumPyError.self) { try NumPy.readFloatMatrix(path: path) }
        }
        var generator = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            var damaged = full
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let index = Int(generator.next() % UInt64(min(full.count, 80)))
                damaged[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            try Self.write(damaged, to: URL(fileURLWithPath: path))
            _ = try? NumPy.readFloatMatrix(path: path)
            _ = try? NumPy.readInt64Matrix(path: path)
        }
    }
}
