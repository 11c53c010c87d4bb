import QuiverStorage
import Testing

/// The vector-literal parser on mutated literals: it accepts only what it can store (1 to
/// 16,000 finite float32 elements, which print and parse back bit for bit) and refuses the rest
/// with a message and a position inside the text.
@Suite struct VectorLiteralFuzzTests {
    static let dictionary = [
        ",", "[", "]", "1e39", "nan", "NaN", "inf", "-Infinity", "-", "+", ".", "e", "E", "0x1p3", "1_000",
        "\u{0661}", "\u{00A0}", "  ", "\n", "[[1]]", ",,", "1.", ".5", "-.5", "+1", "1e", "e5", "--1",
        "1e-46", "3.4028236e38", "0.0000000000000000000000000000000000000000000001",
    ]

    @Test func parserAcceptsOnlyStorableVectorsAndExplainsTheRest() {
        let corpus = FuzzCorpus.entries("vector")
        #expect(!corpus.isEmpty, "no corpus under \(FuzzCorpus.root)/vector")
        let next = FuzzCorpus.inputs("vector", seed: FuzzLoop.seed(0x7EC7), corpus: corpus, dictionary: Self.dictionary)
        let summary = FuzzLoop.run("vector-literal", inputs: FuzzLoop.count(50_000), next: next) { input in
            let text = String(decoding: input, as: UTF8.self)
            do throws(VectorCodec.Problem) {
                let values = try VectorCodec.parse(text)
                guard (1...VectorCodec.maximumDimension).contains(values.count), values.allSatisfy(\.isFinite) else {
                    return .problem("accepted \(values.count) elements, some not finite")
                }
                guard let again = try? VectorCodec.parse(VectorCodec.format(values)),
                    again.map(\.bitPattern) == values.map(\.bitPattern)
                else {
                    return .problem("\(VectorCodec.format(values)) does not parse back to the same floats")
                }
                return .accepted
            } catch {
                guard !error.message.isEmpty, (error.position ?? 0) >= 0, (error.position ?? 0) <= text.utf8.count
                else {
                    return .problem("unclear error: \(error.message) at \(String(describing: error.position))")
                }
                return .rejected
            }
        }
        #expect(summary.accepted > 100 && summary.rejected > 100, "the mutants explored too little: \(summary)")
    }
}
