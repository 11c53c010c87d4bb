#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The controlling terminal on standard input/output: raw mode for line editing, cooked mode
/// while a statement runs (so Ctrl-C raises SIGINT and reaches the interrupt handler), its
/// width, and unbuffered writes.
final class Terminal {
    private var original = termios()
    private var isRaw = false // the terminal's own settings are to be restored
    let input: Int32
    let output: Int32

    init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.input = input
        self.output = output
        tcgetattr(input, &original)
    }

    deinit { leaveRawMode() }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Puts the terminal's own settings back; callable from any thread (a signal handler's).
    var restorer: @Sendable () -> Void {
        let settings = original
        let fd = input
        return {
            var restored = settings
            tcsetattr(fd, TCSADRAIN, &restored)
        }
    }

    /// Keys arrive one by one, unechoed; Ctrl-C and Ctrl-Z arrive as bytes rather than signals
    /// so the editor decides what they mean at the prompt. Output post-processing stays on.
    func enterRawMode() {
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        // TCSADRAIN, not TCSAFLUSH: keys typed ahead while a statement ran are kept.
        tcsetattr(input, TCSADRAIN, &raw)
        isRaw = true
    }

    /// While a statement runs: keys typed ahead stay unprocessed and unechoed until the next
    /// prompt reads them (cooked mode would apply erase and end-of-file to them and drop
    /// them), but Ctrl-C raises SIGINT, which cancels the statement.
    func enterRunningMode() {
        var running = original
        running.c_iflag &= ~tcflag_t(ICRNL | IXON)
        running.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN)
        running.c_lflag |= tcflag_t(ISIG)
        withUnsafeMutableBytes(of: &running.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(input, TCSADRAIN, &running)
        isRaw = true
    }

    func leaveRawMode() {
        guard isRaw else { return }
        tcsetattr(input, TCSADRAIN, &original)
        isRaw = false
    }

    /// Columns of the terminal (80 when it does not say).
    var width: Int { Self.width(of: output) }

    static func width(of fd: Int32) -> Int {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// One byte of input; nil at end of input. `timeoutMilliseconds` bounds the wait (used to
    /// tell a lone Escape from the start of an escape sequence).
    func readByte(timeoutMilliseconds: Int32? = nil) -> UInt8? {
        if let timeoutMilliseconds {
            var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
        }
        var byte: UInt8 = 0
        while true {
            let n = read(input, &byte, 1)
            if n == 1 { return byte }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(output, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
