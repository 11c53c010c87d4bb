import QuiverStorage
import Testing

@Suite struct VectorCodecTests {
    @Test func parsesLiterals() throws {
        #expect(try VectorCodec.parse("[1, 2.5, -3e-2]") == [1, 2.5, -0.03])
        #expect(try VectorCodec.parse(" [ 0 ] ") == [0])
        #expect(try VectorCodec.parse("[1,2,\n3]") == [1, 2, 3])
    }

    @Test(arguments: [
        ("1, 2", "expected a vector literal"),
        ("[]", "at least one element"),
        ("[1, x]", "element 2 is not a number: 'x'"),
        ("[1, NaN]", "element 2 is NaN"),
        ("[Infinity]", "element 1 is infinite"),
        ("[1e39]", "out of float32 range"),
        ("[1, 2", "missing ']'"),
        ("[1 2]", "expected ',' or ']' after element 1"),
        ("[1,]", "element 2 is not a number"),
        ("[1] x", "unexpected text after ']'"),
        ("[0x10]", "not a number"),
    ])
    func rejectsBadLiterals(text: String, message: String) {
        #expect {
            try VectorCodec.parse(text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func decodesAndChecksBlobs() throws {
        let values: [Float] = [1, -2, 0.5]
        let bytes = values.withUnsafeBytes { Array($0) }
        #expect(try bytes.withUnsafeBytes { try VectorCodec.decode($0) } == values)
        #expect(bytes.withUnsafeBytes { VectorCodec.isCanonical($0, dimension: 3) })
        #expect(!bytes.withUnsafeBytes { VectorCodec.isCanonical($0, dimension: 4) })
        let nan = [Float.nan].withUnsafeBytes { Array($0) }
        #expect(throws: VectorCodec.Problem.self) { try nan.withUnsafeBytes { try VectorCodec.decode($0) } }
        #expect(!nan.withUnsafeBytes { VectorCodec.isCanonical($0, dimension: 1) })
        #expect(throws: VectorCodec.Problem.self) {
            try [UInt8](repeating: 0, count: 5).withUnsafeBytes { try VectorCodec.decode($0) }
        }
    }

    @Test func formattedVectorsParseBackBitForBit() throws {
        var random = SeededRandom(seed: 11)
        var values = random.vector(200)
        values += [Float.leastNonzeroMagnitude, -0.0, Float.greatestFiniteMagnitude, 1e-30, 0.1]
        let parsed = try VectorCodec.parse(VectorCodec.format(values))
        #expect(parsed.map(\.bitPattern) == values.map(\.bitPattern))
    }
}
