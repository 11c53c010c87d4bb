import Dispatch
import Foundation
import QuiverQuery
import QuiverStorage

/// A shell session: reads statements and meta-commands, runs them on a backend, shows results.
///
/// Interactive on a terminal (line editor, history, completion, Ctrl-C cancels the statement, a
/// progress line, styling); otherwise a plain script runner (standard input, `-c`, `.read`) with
/// none of that chrome, whose exit status says whether every statement succeeded.
public final class Shell {
    public struct Options {
        /// Draw colours and the progress line (standard output and error are a terminal).
        public var styled: Bool
        /// Stop a script at its first error.
        public var bail: Bool
        /// Where history persists (nil: not kept across sessions).
        public var historyPath: String?

        public init(styled: Bool, bail: Bool = false, historyPath: String? = nil) {
            self.styled = styled
            self.bail = bail
            self.historyPath = historyPath
        }
    }

    let backend: ShellBackend
    let options: Options
    var display = ResultDisplay()
    var timer = false
    var explain = false
    let output = OutputSink()
    var completer = Completer()
    /// Set when `.quit` ran.
    var quitRequested = false
    private var interactive = false
    /// The scripts being run, outermost first (`<stdin>`, `-c`, then `.read` files): errors
    /// name the innermost and the line, and `.read` refuses to nest deeper than sqlite3 does.
    private(set) var scripts: [String] = []
    static let maximumScriptNesting = 25
    /// The backend's warning last shown, so a lasting condition is told once, not per statement.
    private var shownWarning: String?
    private var progress: ProgressLine?
    private var terminal: Terminal?
    private var interruptSource: DispatchSourceSignal?
    private var terminationSource: DispatchSourceSignal?

    /// `$QUIVER_HISTORY`, else `~/.quiver_history` (`$HOME` honoured).
    public static var defaultHistoryPath: String? { History.defaultPath() }

    public init(backend: ShellBackend, options: Options) {
        self.backend = backend
        self.options = options
        completer.metaCommands = MetaCommand.names
    }

    // MARK: - Interactive

    /// Runs until Ctrl-D or `.quit`; returns the exit status.
    public func runInteractive() -> Int32 {
        interactive = true
        display.styled = options.styled
        // Results may go to a file (`quiver shell > out.txt`); the prompt and editing stay on the terminal.
        let terminal = Terminal(output: Terminal.isTerminal(STDOUT_FILENO) ? STDOUT_FILENO : STDERR_FILENO)
        self.terminal = terminal
        defer { self.terminal = nil }
        let width: @Sendable () -> Int = { [fd = terminal.output] in Terminal.width(of: fd) }
        let progress = ProgressLine(width: width) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
        self.progress = progress
        backend.progressHandler = { progress.update($0) }
        installInterruptHandler()
        restoreTerminalOnTermination(terminal)
        let history = History(path: options.historyPath)
        refreshCompletion()
        let editor = LineEditor(terminal: terminal, history: history) { [unowned self] line, cursor in
            completer.complete(line, cursor: cursor)
        }
        message("quiver shell — \(backend.location). Statements end with \";\"; .help lists commands, Ctrl-D leaves.")
        var buffer = StatementBuffer()
        while !quitRequested {
            switch editor.readLine(prompt: buffer.isEmpty ? "quiver> " : "   ...> ") {
            case .endOfInput:
                return 0
            case .cancelled:
                buffer.clear()
            case .line(let line):
                guard let unit = buffer.add(line) else { continue }
                switch unit {
                case .sql(let text, _):
                    history.add(text)
                    _ = run(.sql(text, firstLine: 1)) // errors number the statement's own lines
                case .meta(let text, _):
                    history.add(text)
                    _ = run(unit)
                }
            }
        }
        return 0
    }

    /// Ctrl-C while a statement runs (the terminal is in its running mode then, which raises
    /// SIGINT) cancels the statement; at the prompt the editor reads Ctrl-C as a key, so the
    /// shell itself is never stopped.
    private func installInterruptHandler() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let interrupter = backend.interrupter
        source.setEventHandler { interrupter.interrupt() }
        source.resume()
        interruptSource = source
    }

    /// SIGTERM would otherwise leave the terminal raw (no echo, no line editing) for the shell
    /// the user returns to: put its settings back, then end as SIGTERM would have.
    private func restoreTerminalOnTermination(_ terminal: Terminal) {
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        let restore = terminal.restorer
        source.setEventHandler {
            restore()
            signal(SIGTERM, SIG_DFL)
            // Dispatch's threads block signals, and a signal sent to the process may find every
            // thread blocking it and stay pending: unblock it here and raise it on this thread.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            raise(SIGTERM)
            _exit(128 + SIGTERM)
        }
        // The source is registered asynchronously, and until then SIG_IGN drops a SIGTERM:
        // wait for it, so no SIGTERM after the first prompt is lost.
        let registered = DispatchSemaphore(value: 0)
        source.setRegistrationHandler { registered.signal() }
        source.resume()
        _ = registered.wait(timeout: .now() + 2)
        terminationSource = source
    }

    // MARK: - Scripts

    /// Runs lines from `nextLine` (standard input, `-c`, a `.read` file) as a script named
    /// `name` in error messages; returns the exit status: 0 when every statement and command
    /// succeeded, 1 otherwise.
    public func runScript(named name: String = "<stdin>", nextLine: () -> String?) -> Int32 {
        runLines(named: name, nextLine) ? 0 : 1
    }

    /// True when every unit succeeded (or, with `bail`, until the first failure).
    func runLines(named name: String, _ nextLine: () -> String?) -> Bool {
        scripts.append(name)
        defer { scripts.removeLast() }
        var buffer = StatementBuffer()
        var succeeded = true
        while !quitRequested, let line = nextLine() {
            guard let unit = buffer.add(line) else { continue }
            if !run(unit) {
                succeeded = false
                if options.bail { return false }
            }
        }
        if !quitRequested, let unit = buffer.finish(), !run(unit) { succeeded = false }
        return succeeded
    }

    // MARK: - Running units

    /// Runs one unit; false when it failed (the error has been shown).
    func run(_ unit: StatementBuffer.Unit) -> Bool {
        switch unit {
        case .meta(let text, let line):
            do {
                try runMetaCommand(text)
                return true
            } catch {
                showError(whereInScript(line: line) + String(describing: error))
                return false
            }
        case .sql(let text, let firstLine):
            for statement in StatementSplitter.split(text) {
                guard runStatement(statement, in: text, firstLine: firstLine) else { return false }
            }
            return true
        }
    }

    private func runStatement(_ statement: SQLStatement, in text: String, firstLine: Int) -> Bool {
        let sql = statement.text
        let start = statement.significant.first?.offset ?? statement.offset
        let location = whereInScript(line: firstLine + text.utf8.prefix(start).filter { $0 == 0x0A }.count)
        if explain, ["SELECT", "WITH"].contains(statement.leadingKeyword) { showPlan(of: sql) }
        let started = DispatchTime.now()
        let results: [ResultSet]
        do {
            results = try withProgress(Self.label(for: statement)) { try backend.execute(sql) }
        } catch let failure as StatementFailure {
            showError(
                location + failure.message, text: text, offset: failure.offset.map { $0 + statement.offset },
                firstLine: firstLine)
            return false
        } catch {
            showError(location + String(describing: error))
            return false
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        for result in results { show(result) }
        if backend.warning != shownWarning {
            shownWarning = backend.warning
            if let warning = shownWarning { message("warning: \(warning)") }
        }
        if timer { footer(ResultDisplay.time(seconds)) }
        if statement.changesSchema { refreshCompletion() }
        return true
    }

    func show(_ result: ResultSet) {
        output.write(display.render(result))
        if !display.mode.isForPeople && interactive && output.isStandardOutput {
            message(ResultDisplay.rowCount(result.rows.count))
        }
    }

    /// Footer lines (time) go with the rows for people, to the terminal for machine formats.
    private func footer(_ text: String) {
        if display.mode.isForPeople { output.write(text + "\n") } else if interactive { message(text) }
    }

    /// `.explain on`: the planner's plan for nearest-neighbour queries, SQLite's query plan
    /// for the rest, before the rows.
    private func showPlan(of sql: String) {
        if let plan = try? backend.execute("EXPLAIN " + sql).first, plan.columns == ["item", "value"] {
            var planDisplay = display
            planDisplay.mode = .table
            planDisplay.maxCellWidth = 120 // reasons are sentences
            output.write(planDisplay.render(plan))
        } else if let plan = try? backend.execute("EXPLAIN QUERY PLAN " + sql).first {
            output.write(QueryPlanTree.render(plan))
        }
    }

    /// Runs `work` with the progress line (interactive only).
    func withProgress<T>(_ label: String, _ work: () throws -> T) throws -> T {
        guard interactive, options.styled, let progress else { return try work() }
        progress.start(label)
        defer { progress.stop() }
        return try work()
    }

    func reportProgress(_ detail: String) { progress?.update(detail) }

    private static func label(for statement: SQLStatement) -> String {
        let words = statement.significant.prefix(4).map(\.text).joined(separator: " ")
        return words.count > 40 ? String(words.prefix(39)) + "…" : words
    }

    // MARK: - Messages

    /// A line for the person at the terminal (standard error, so it never mixes with results).
    func message(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// `file:line: ` for an error in a script, where its statement starts; nothing at the prompt.
    private func whereInScript(line: Int) -> String {
        guard let script = scripts.last else { return "" }
        return "\(script):\(line): "
    }

    func showError(_ message: String, text: String? = nil, offset: Int? = nil, firstLine: Int = 1) {
        let rendered = ErrorDisplay.render(
            message: message, text: text ?? "", offset: text == nil ? nil : offset,
            firstLine: firstLine, styled: options.styled && interactive,
            width: interactive ? terminal?.width : nil)
        FileHandle.standardError.write(Data(rendered.utf8))
    }

    /// Table and column names for completion, read through the backend.
    func refreshCompletion() {
        guard interactive else { return }
        let sql = """
            SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
            WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '\\_quiver%' ESCAPE '\\'
            ORDER BY m.name, p.cid
            """
        guard let rows = try? backend.execute(sql).first?.rows else { return }
        var schema: [(table: String, columns: [String])] = []
        for row in rows {
            guard case .text(let table) = row[0], case .text(let column) = row[1] else { continue }
            if schema.last?.table == table {
                schema[schema.count - 1].columns.append(column)
            } else {
                schema.append((table, [column]))
            }
        }
        completer.schema = schema
    }
}

extension SQLStatement {
    var changesSchema: Bool {
        ["CREATE", "DROP", "ALTER"].contains(leadingKeyword)
    }
}
