import Foundation

/// What JSONDecoder lets pass or words poorly, checked in one pass over a request body before
/// it is decoded: a key given twice in one object (the decoder keeps one of them silently, so
/// `{"rows": [...], "rows": []}` would write nothing and answer success) and nesting deeper
/// than `maxDepth` (the decoder's own limit reads as "malformed JSON"). Anything else that is
/// wrong is left to the decoder, which says what and where.
enum JSONStructureCheck {
    static let maxDepth = 100

    private enum Frame {
        case object(keys: Set<String>, key: String?, expectsKey: Bool)
        case array(index: Int)
    }

    static func check(_ bytes: UnsafeRawBufferPointer) throws {
        var stack: [Frame] = []
        var i = 0
        let count = bytes.count
        while i < count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                var escaped = false
                while i < count && bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") {
                        escaped = true
                        i += 1
                    }
                    i += 1
                }
                guard i < count else { return }
                if case .object(var keys, _, true)? = stack.last {
                    guard let key = string(bytes[start...i], escaped: escaped) else { return }
                    guard keys.insert(key).inserted else {
                        throw APIError.badRequest(
                            "invalid request body: duplicate key \"\(key)\" in the object at \(path(stack.dropLast())); give each key once"
                        )
                    }
                    stack[stack.count - 1] = .object(keys: keys, key: key, expectsKey: false)
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < maxDepth else {
                    throw APIError.badRequest(
                        "invalid request body: JSON nested deeper than \(maxDepth) levels (at \(path(stack[...])))")
                }
                stack.append(
                    bytes[i] == UInt8(ascii: "{") ? .object(keys: [], key: nil, expectsKey: true) : .array(index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if stack.popLast() == nil { return }
            case UInt8(ascii: ","):
                switch stack.last {
                case .object(let keys, let key, _)?:
                    stack[stack.count - 1] = .object(keys: keys, key: key, expectsKey: true)
                case .array(let index)?: stack[stack.count - 1] = .array(index: index + 1)
                case nil: return
                }
            default:
                break
            }
            i += 1
        }
    }

    /// A key as the decoder will read it (escapes such as `\u0072` resolved).
    private static func string(_ quoted: Slice<UnsafeRawBufferPointer>, escaped: Bool) -> String? {
        guard escaped else { return String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self) }
        return try? JSONDecoder().decode(String.self, from: Data(quoted))
    }

    /// `queries[2].filter`, as APIError.path writes coding paths.
    private static func path(_ frames: ArraySlice<Frame>) -> String {
        var text = ""
        for frame in frames {
            switch frame {
            case .object(_, let key?, _): text += (text.isEmpty ? "" : ".") + key
            case .array(let index): text += "[\(index)]"
            case .object: break
            }
        }
        return text.isEmpty ? "the top level" : text
    }
}
