import Foundation
import QuiverDedupe

/// A one-line progress display on standard error for long work (DEDUPE, imports), redrawn in
/// place and erased when the work ends. Only for a terminal: redirected output stays clean.
final class ProgressLine {
    private let start = Date()
    /// Columns available for the line.
    let width: Int
    private var lastDraw = Date.distantPast
    private var lastText = ""
    private var drawn = false

    /// A progress line when standard error is a terminal, else nil.
    static func forTerminal() -> ProgressLine? {
        isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb" ? ProgressLine() : nil
    }

    private init() {
        var size = winsize()
        width = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) - 1 : 79
    }

    /// Draws `text` in place of the line (the caller throttles).
    func show(_ text: String) {
        write("\r\u{1B}[2K" + text)
        drawn = true
    }

    func update(_ progress: DedupeProgress) {
        let now = Date()
        let text: String
        if progress.total > 0 {
            text = "\(progress.phase): \(Int(progress.fraction * 100))% (\(progress.done)/\(progress.total))"
        } else {
            text = "\(progress.phase): \(progress.done)"
        }
        guard text != lastText, now.timeIntervalSince(lastDraw) >= 0.1 || progress.done == progress.total else { return }
        lastDraw = now
        lastText = text
        let elapsed = String(format: "%.1f", now.timeIntervalSince(start))
        show("DEDUPE \(text), \(elapsed) s")
    }

    /// Erases the line, so results and errors start on a clean line.
    func finish() {
        if drawn { write("\r\u{1B}[2K") }
        drawn = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
