/// One key press, decoded from the bytes a terminal sends (VT100/xterm sequences).
enum Key: Equatable {
    case text(Unicode.Scalar)
    case enter, tab, backspace, delete, escape
    case left, right, up, down, home, end
    case wordLeft, wordRight
    case control(Character) // Ctrl-A … Ctrl-Z as their letter
    case endOfInput
    case unknown

    /// Reads one key from `terminal`, decoding UTF-8 and escape sequences.
    static func read(from terminal: Terminal) -> Key {
        guard let byte = terminal.readByte() else { return .endOfInput }
        switch byte {
        case 0x0D, 0x0A: return .enter
        case 0x09: return .tab
        case 0x7F, 0x08: return .backspace
        case 0x1B: return escapeSequence(terminal)
        case 0x01...0x1A: return .control(Character(Unicode.Scalar(byte + 0x60)))
        case 0x00..<0x20: return .unknown
        case 0x20..<0x80: return .text(Unicode.Scalar(byte))
        default: return utf8(lead: byte, terminal)
        }
    }

    private static func utf8(lead: UInt8, _ terminal: Terminal) -> Key {
        let extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0
        guard extra > 0 else { return .unknown }
        var bytes = [lead]
        for _ in 0..<extra {
            guard let next = terminal.readByte(), next & 0xC0 == 0x80 else { return .unknown }
            bytes.append(next)
        }
        let scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars
        return scalars.count == 1 && scalars.first != "\u{FFFD}" ? .text(scalars.first!) : .unknown
    }

    /// ESC [ … or ESC O … sequences; a lone ESC (nothing follows within 50 ms) is Escape,
    /// ESC b / ESC f are Meta word moves.
    private static func escapeSequence(_ terminal: Terminal) -> Key {
        guard let first = terminal.readByte(timeoutMilliseconds: 50) else { return .escape }
        switch first {
        case UInt8(ascii: "b"): return .wordLeft
        case UInt8(ascii: "f"): return .wordRight
        case UInt8(ascii: "["), UInt8(ascii: "O"): break
        default: return .unknown
        }
        var parameters = ""
        while let byte = terminal.readByte(timeoutMilliseconds: 50) {
            if (0x30...0x3F).contains(byte) {
                parameters.append(Character(Unicode.Scalar(byte)))
                continue
            }
            let modified = parameters.hasSuffix(";5") || parameters.hasSuffix(";3") // Ctrl or Alt
            switch byte {
            case UInt8(ascii: "A"): return .up
            case UInt8(ascii: "B"): return .down
            case UInt8(ascii: "C"): return modified ? .wordRight : .right
            case UInt8(ascii: "D"): return modified ? .wordLeft : .left
            case UInt8(ascii: "H"): return .home
            case UInt8(ascii: "F"): return .end
            case UInt8(ascii: "~"):
                switch parameters {
                case "1", "7": return .home
                case "4", "8": return .end
                case "3": return .delete
                default: return .unknown
                }
            default: return .unknown
            }
        }
        return .escape
    }
}
