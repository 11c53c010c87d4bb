import CSQLite
import QuiverText

/// Registers `FullTextTokenizer` with SQLite's FTS5 as the tokenizer `quiver`, so that a
/// full-text table declared `tokenize = 'quiver'` indexes and queries text as Quiver does
/// (CJK bigrams, NFKC and case folding). FTS5 creates one tokenizer per table and connection,
/// and a connection is used by one thread at a time, so each instance keeps its own buffers.
enum FullTextTokenizerRegistration {
    static let name = "quiver"

    static func register(on connection: Connection) throws {
        guard let api = quiver_fts5_api_of(connection.handle), api.pointee.iVersion >= 2 else {
            throw SQLiteError(.unsupported("this SQLite has no FTS5, which full-text indexes need"))
        }
        var tokenizer = quiver_fts5_tokenizer(
            xCreate: { _, _, _, out in
                out?.pointee = OpaquePointer(Unmanaged.passRetained(FullTextTokenizer()).toOpaque())
                return SQLITE_OK
            },
            xDelete: { tokenizer in
                guard let tokenizer else { return }
                Unmanaged<FullTextTokenizer>.fromOpaque(UnsafeRawPointer(tokenizer)).release()
            },
            xTokenize: { tokenizer, context, flags, text, length, emit in
                guard let tokenizer, let emit else { return SQLITE_MISUSE }
                guard let text, length > 0 else { return SQLITE_OK }
                let instance = Unmanaged<FullTextTokenizer>.fromOpaque(UnsafeRawPointer(tokenizer))
                    .takeUnretainedValue()
                let mode: FullTextTokenizer.Mode =
                    flags & Int32(QUIVER_FTS5_TOKENIZE_QUERY) != 0 ? .query : .document
                let bytes = UnsafeRawPointer(text).bindMemory(to: UInt8.self, capacity: Int(length))
                var status = SQLITE_OK
                instance.tokenize(UnsafeBufferPointer(start: bytes, count: Int(length)), mode: mode) {
                    term, _, source, colocated in
                    guard status == SQLITE_OK else { return }
                    status = term.withMemoryRebound(to: CChar.self) { characters in
                        emit(
                            context, colocated ? Int32(QUIVER_FTS5_TOKEN_COLOCATED) : 0,
                            characters.baseAddress, Int32(characters.count), Int32(source.lowerBound),
                            Int32(source.upperBound))
                    }
                }
                return status
            })
        let status = api.pointee.xCreateTokenizer(api, name, nil, &tokenizer, nil)
        guard status == SQLITE_OK else {
            throw SQLiteError(code: ResultCode(rawValue: status), message: "cannot register the full-text tokenizer")
        }
    }
}
