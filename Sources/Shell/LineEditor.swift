import Foundation
import QuiverFormats

/// An interactive line editor over a raw-mode terminal.
///
/// Hand-written rather than libedit: libedit's `el_set` is C-variadic (Swift cannot call it) and
/// its readline layer takes completion as global C callbacks and handles SIGINT itself, while the
/// shell needs Ctrl-C to clear the line here and to cancel a statement elsewhere; cursor columns
/// must agree with `DisplayWidth`, which lays out the result tables; and it needs no new system
/// package. It keeps to what a shell user expects from readline: Emacs keys, arrows, history,
/// completion, wide characters and lines longer than the terminal is wide.
final class LineEditor {
    enum Outcome: Equatable {
        case line(String)
        case cancelled // Ctrl-C: the line was abandoned
        case endOfInput // Ctrl-D on an empty line, or the terminal closed
    }

    private let terminal: Terminal
    private let history: History
    private let completer: ((_ line: String, _ cursor: String.Index) -> Completion)?

    /// What completing the word before the cursor offers.
    struct Completion {
        var wordStart: String.Index
        var candidates: [String]
    }

    init(terminal: Terminal, history: History, completer: ((String, String.Index) -> Completion)?) {
        self.terminal = terminal
        self.history = history
        self.completer = completer
    }

    // Editing state for one line.
    private var prompt = ""
    private var characters: [Character] = []
    private var cursor = 0
    private var cursorRow = 0 // the row of the cursor, counted from the prompt's row
    private var historyIndex = 0 // == history.entries.count while editing a new line
    private var draft: [Character] = [] // the new line, kept while browsing history
    private var lastKeyWasTab = false

    func readLine(prompt: String) -> Outcome {
        self.prompt = prompt
        characters = []
        cursor = 0
        cursorRow = 0
        historyIndex = history.entries.count
        draft = []
        terminal.enterRawMode()
        defer { terminal.enterRunningMode() }
        refresh()
        while true {
            let key = Key.read(from: terminal)
            let wasTab = lastKeyWasTab
            lastKeyWasTab = false
            switch key {
            case .text(let scalar): insert(scalar)
            case .enter:
                moveToEnd()
                terminal.write("\r\n")
                return .line(String(characters))
            case .endOfInput:
                return .endOfInput
            case .control("d"):
                if characters.isEmpty {
                    terminal.write("\r\n")
                    return .endOfInput
                }
                deleteForward()
            case .control("c"):
                moveToEnd()
                terminal.write("^C\r\n")
                return .cancelled
            case .tab:
                complete(listing: wasTab)
                lastKeyWasTab = true
            case .backspace, .control("h"):
                if cursor > 0 {
                    cursor -= 1
                    characters.remove(at: cursor)
                    refresh()
                }
            case .delete: deleteForward()
            case .left, .control("b"):
                if cursor > 0 {
                    cursor -= 1
                    refresh()
                }
            case .right, .control("f"):
                if cursor < characters.count {
                    cursor += 1
                    refresh()
                }
            case .home, .control("a"):
                cursor = 0
                refresh()
            case .end, .control("e"):
                cursor = characters.count
                refresh()
            case .wordLeft:
                cursor = wordStart(before: cursor)
                refresh()
            case .wordRight:
                cursor = wordEnd(after: cursor)
                refresh()
            case .up, .control("p"): recall(historyIndex - 1)
            case .down, .control("n"): recall(historyIndex + 1)
            case .control("k"):
                characters.removeSubrange(cursor...)
                refresh()
            case .control("u"):
                characters.removeSubrange(..<cursor)
                cursor = 0
                refresh()
            case .control("w"):
                let start = wordStart(before: cursor)
                characters.removeSubrange(start..<cursor)
                cursor = start
                refresh()
            case .control("z"):
                // Suspend like any job (the terminal is raw, so the key came as a byte, not SIGTSTP);
                // on `fg` the editor takes the terminal back and redraws.
                terminal.leaveRawMode()
                raise(SIGTSTP)
                terminal.enterRawMode()
                cursorRow = 0
                terminal.write("\r\n")
                refresh()
            case .control("l"):
                terminal.write("\u{1B}[H\u{1B}[2J")
                cursorRow = 0
                refresh()
            default:
                break
            }
        }
    }

    private func insert(_ scalar: Unicode.Scalar) {
        // A combining mark joins the character before it, so the head is regrouped.
        var text = String(characters[..<cursor])
        text.unicodeScalars.append(scalar)
        let head = Array(text)
        characters = head + characters[cursor...]
        cursor = head.count
        refresh()
    }

    private func deleteForward() {
        if cursor < characters.count {
            characters.remove(at: cursor)
            refresh()
        }
    }

    private func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    private func wordStart(before position: Int) -> Int {
        var i = position
        while i > 0 && !isWordCharacter(characters[i - 1]) { i -= 1 }
        while i > 0 && isWordCharacter(characters[i - 1]) { i -= 1 }
        return i
    }

    private func wordEnd(after position: Int) -> Int {
        var i = position
        while i < characters.count && !isWordCharacter(characters[i]) { i += 1 }
        while i < characters.count && isWordCharacter(characters[i]) { i += 1 }
        return i
    }

    private func recall(_ index: Int) {
        guard index >= 0, index <= history.entries.count, index != historyIndex else { return }
        if historyIndex == history.entries.count { draft = characters }
        historyIndex = index
        characters = index == history.entries.count ? draft : Array(history.entries[index])
        cursor = characters.count
        refresh()
    }

    // MARK: - Completion

    private func complete(listing: Bool) {
        guard let completer else { return }
        let line = String(characters)
        let cursorIndex = line.index(line.startIndex, offsetBy: cursor)
        let completion = completer(line, cursorIndex)
        let word = String(line[completion.wordStart..<cursorIndex])
        let candidates = completion.candidates
        guard !candidates.isEmpty else {
            terminal.write("\u{07}")
            return
        }
        var common = candidates[0]
        for candidate in candidates.dropFirst() {
            while !candidate.lowercased().hasPrefix(common.lowercased()) { common.removeLast() }
        }
        if candidates.count == 1 { common += " " }
        if common.count > word.count {
            let wordStart = cursor - word.count
            characters.replaceSubrange(wordStart..<cursor, with: Array(common))
            cursor = wordStart + common.count
            refresh()
        } else if listing {
            showCandidates(candidates)
        } else {
            terminal.write("\u{07}")
        }
    }

    /// Lists candidates in columns below the line, then draws the line again.
    private func showCandidates(_ candidates: [String]) {
        moveToEnd()
        let widest = candidates.map(DisplayWidth.of).max() ?? 0
        let perRow = max(1, terminal.width / (widest + 2))
        var out = "\r\n"
        for (i, candidate) in candidates.enumerated() {
            out += candidate + String(repeating: " ", count: widest + 2 - DisplayWidth.of(candidate))
            if (i + 1) % perRow == 0 || i == candidates.count - 1 { out += "\r\n" }
        }
        terminal.write(out)
        cursorRow = 0
        refresh()
    }

    // MARK: - Drawing

    /// Where a character position lands on screen, given the terminal width: rows wrap, and a
    /// wide character that does not fit at the end of a row moves whole to the next one, as
    /// terminals draw it.
    private func position(of count: Int, width: Int) -> (row: Int, column: Int) {
        var row = 0
        var column = 0
        func advance(_ w: Int) {
            if column + w > width {
                row += 1
                column = 0
            }
            column += w
            if column >= width {
                row += 1
                column = 0
            }
        }
        for c in prompt { advance(DisplayWidth.of(c)) }
        for c in characters[..<count] { advance(Self.shown(c).width) }
        return (row, column)
    }

    /// How a character of the line is drawn: a recalled multi-line statement keeps its line
    /// breaks (and so its `--` comments) but shows each as "↵" so it stays one editable line.
    private static func shown(_ c: Character) -> (text: String, width: Int) {
        switch c {
        case "\n", "\r\n", "\r": ("↵", 1)
        case "\t": (" ", 1)
        default: (String(c), DisplayWidth.of(c))
        }
    }

    /// Redraws the prompt and the line from the prompt's row and puts the cursor in place.
    private func refresh() {
        let width = terminal.width
        var out = ""
        if cursorRow > 0 { out += "\u{1B}[\(cursorRow)A" }
        out += "\r\u{1B}[J" + prompt
        for c in characters { out += Self.shown(c).text }
        let end = position(of: characters.count, width: width)
        // Text that fills its last row exactly leaves the terminal's cursor in the margin;
        // a line break puts it where the next character would go.
        if end.column == 0 && end.row > 0 { out += "\r\n" }
        let target = position(of: cursor, width: width)
        if end.row > target.row { out += "\u{1B}[\(end.row - target.row)A" }
        out += "\r"
        if target.column > 0 { out += "\u{1B}[\(target.column)C" }
        cursorRow = target.row
        terminal.write(out)
    }

    private func moveToEnd() {
        cursor = characters.count
        refresh()
    }
}
