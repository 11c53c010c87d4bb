import Foundation

/// A progress line redrawn in place on standard error, when standard error is a terminal;
/// nil otherwise, so scripts and logs get only the final summary.
final class TerminalProgress {
    let width: Int

    init?() {
        guard isatty(STDERR_FILENO) == 1 else { return nil }
        var size = winsize()
        width = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) - 1 : 79
    }

    func show(_ line: String) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func clear() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
