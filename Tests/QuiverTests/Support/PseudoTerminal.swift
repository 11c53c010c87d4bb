import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct PseudoTerminalError: Error, CustomStringConvertible {
    var description: String
}

/// A child process on a pseudo-terminal, driven as a person at a terminal would drive it: keys
/// go in through the master side, and everything the child draws (prompts, escape sequences,
/// results) is collected in `transcript`. The child starts a new session with the terminal as
/// its controlling terminal, so Ctrl-C typed in cooked mode raises SIGINT in it, as in a real
/// terminal.
final class PseudoTerminal {
    let pid: pid_t
    private let master: Int32
    /// Everything the child has written, raw.
    private(set) var transcript = ""
    private var bytes: [UInt8] = []
    /// Where the next `expect` starts looking.
    private var mark = 0
    private(set) var exitStatus: Int32?

    init(
        _ executable: String, _ arguments: [String], environment: [String: String],
        columns: UInt16 = 100, rows: UInt16 = 40
    ) throws {
        master = LibC.posixOpenpt(O_RDWR | O_NOCTTY)
        var name = [CChar](repeating: 0, count: 128)
        guard master >= 0, LibC.grantpt(master) == 0, LibC.unlockpt(master) == 0,
            LibC.ptsnameR(master, &name, name.count) == 0
        else {
            throw PseudoTerminalError(description: "cannot open a pseudo-terminal: errno \(errno)")
        }
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session: opening the terminal (without O_NOCTTY) then makes it the controlling one.
        posix_spawnattr_setflags(&attributes, Int16(LibC.spawnSetsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        posix_spawn_file_actions_addclose(&actions, master)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            close(master)
            throw PseudoTerminalError(description: "cannot start \(executable): error \(status)")
        }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    /// The terminal's local modes now (ECHO, ICANON, ISIG …), as the child last set them.
    var localModes: tcflag_t {
        var settings = termios()
        tcgetattr(master, &settings)
        return settings.c_lflag
    }

    /// Types `text` (control keys as their bytes: "\u{03}" is Ctrl-C, "\r" is Enter).
    func send(_ text: String) {
        let data = Array(text.utf8)
        data.withUnsafeBytes { _ = write(master, $0.baseAddress, $0.count) }
    }

    static let up = "\u{1B}[A", down = "\u{1B}[B", left = "\u{1B}[D", right = "\u{1B}[C"
    static let home = "\u{1B}[H", end = "\u{1B}[F", tab = "\t", enter = "\r"
    static let ctrlC = "\u{03}", ctrlD = "\u{04}", ctrlA = "\u{01}", ctrlE = "\u{05}", ctrlU = "\u{15}"

    /// Reads what the child writes until `text` appears after the last match (or the child's
    /// output ends); returns the output from the last match to the end of this one.
    @discardableResult
    func expect(_ text: String, timeout: TimeInterval = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let visible = bytes.count > mark ? String(decoding: bytes[mark...], as: UTF8.self) : ""
            if let range = visible.range(of: text) {
                let upTo = String(visible[..<range.upperBound])
                mark += upTo.utf8.count
                return upTo
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, pump(timeoutMilliseconds: Int32(min(remaining, 0.2) * 1000)) || exitStatus == nil
            else {
                throw PseudoTerminalError(
                    description: """
                        did not see \(text.debugDescription) within \(timeout) s; output since the last match:
                        \(Self.readable(visible))
                        """)
            }
        }
    }

    /// Reads until the whole transcript satisfies `condition` (for output whose order varies).
    func wait(until condition: (String) -> Bool, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(transcript) {
            guard deadline.timeIntervalSinceNow > 0, pump(timeoutMilliseconds: 100) || condition(transcript) else {
                throw PseudoTerminalError(
                    description: "condition not met within \(timeout) s; output:\n\(Self.readable(transcript))")
            }
        }
    }

    /// Waits for the child to exit (reading its output meanwhile); returns its exit status.
    func waitForExit(timeout: TimeInterval = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while exitStatus == nil {
            guard deadline.timeIntervalSinceNow > 0 else {
                throw PseudoTerminalError(
                    description: "the child did not exit within \(timeout) s; output:\n\(Self.readable(transcript))")
            }
            _ = pump(timeoutMilliseconds: 100)
        }
        return exitStatus!
    }

    /// Reads whatever is available; false when nothing more will come.
    private func pump(timeoutMilliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, timeoutMilliseconds) > 0 {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(master, &buffer, buffer.count)
            if n > 0 {
                bytes += buffer[..<n]
                transcript = String(decoding: bytes, as: UTF8.self)
                return true
            }
        }
        if exitStatus == nil {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            }
        }
        return exitStatus == nil
    }

    /// The transcript with escape sequences removed and line ends normalised: what a reader of
    /// the scrollback would see of the program's plain output lines.
    /// A carriage return starts the line's text over (what follows overwrites it).
    static func plainLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var afterReturn = false
        for scalar in stripEscapes(text).unicodeScalars {
            if afterReturn && scalar != "\n" && scalar != "\r" { current = .init() }
            afterReturn = scalar == "\r"
            if scalar == "\n" {
                lines.append(String(current))
                current = .init()
            } else if scalar != "\r" {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    static func stripEscapes(_ text: String) -> String {
        var out = ""
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "\u{1B}" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            guard let next = scalars.next() else { break }
            if next == "[" {
                while let c = scalars.next(), !(0x40...0x7E).contains(c.value) {}
            }
        }
        return out
    }

    static func readable(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{1B}", with: "⎋").replacingOccurrences(of: "\r", with: "␍")
    }
}

/// The C library's pseudo-terminal functions, which Swift's Glibc module leaves out (they sit
/// behind _XOPEN_SOURCE), looked up by name.
enum LibC {
    private static func function<T>(_ name: String, _ type: T.Type) -> T {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), name) else { fatalError("\(name) is not in the C library") }
        return unsafeBitCast(symbol, to: type)
    }

    static let posixOpenpt = function("posix_openpt", (@convention(c) (Int32) -> Int32).self)
    static let grantpt = function("grantpt", (@convention(c) (Int32) -> Int32).self)
    static let unlockpt = function("unlockpt", (@convention(c) (Int32) -> Int32).self)
    static let ptsnameR = function(
        "ptsname_r", (@convention(c) (Int32, UnsafeMutablePointer<CChar>, Int) -> Int32).self)
    static let wcwidth = function("wcwidth", (@convention(c) (Int32) -> Int32).self)
    /// glibc's POSIX_SPAWN_SETSID (<spawn.h>, _GNU_SOURCE).
    static let spawnSetsid: Int32 = 0x80
}
