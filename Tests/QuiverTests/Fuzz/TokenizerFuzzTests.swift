import QuiverQuery
import Testing

/// The tokenizer and statement splitter on mutated SQL: they never lose or invent a byte (error
/// positions and the shell's caret rely on token offsets), and never hang.
@Suite struct TokenizerFuzzTests {
    @Test func tokensAndStatementsCoverTheTextExactly() {
        let corpus = FuzzCorpus.entries("sql")
        #expect(!corpus.isEmpty)
        let next = FuzzCorpus.inputs(
            "sql", seed: FuzzLoop.seed(0x70C3), corpus: corpus, dictionary: SQLFuzzTests.dictionary)
        FuzzLoop.run("tokenizer", inputs: FuzzLoop.count(30_000), next: next) { input in
            let text = String(decoding: input, as: UTF8.self)
            let tokens = Tokenizer.tokenize(text)
            guard tokens.map(\.text).joined() == text else { return .problem("the tokens do not spell the text") }
            var offset = 0
            for token in tokens {
                guard token.offset == offset else {
                    return .problem("token \(token.text.debugDescription) at \(token.offset), expected \(offset)")
                }
                offset += token.text.utf8.count
            }
            let statements = StatementSplitter.split(tokens)
            guard statements.allSatisfy({ !$0.significant.isEmpty }) else { return .problem("an empty statement") }
            _ = StatementSplitter.isComplete(text)
            return statements.isEmpty ? .rejected : .accepted
        }
    }
}
