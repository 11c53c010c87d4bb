import Dispatch
import Foundation
import QuiverFormats
import QuiverProgress

/// The status line on a terminal for work that takes a while — a statement in the shell or in
/// `quiver sql` (DEDUPE, index builds), an import: once `delay` has passed it shows what runs,
/// for how long and how far the work says it has got, redrawn in place, and it is erased when
/// the work ends. Nothing is drawn for work that ends sooner. `quiver` and the shell both draw
/// through it.
public final class ProgressLine: @unchecked Sendable {
    private let queue = DispatchQueue(label: "quiver.progress-line")
    private let write: @Sendable (String) -> Void
    private let columns: @Sendable () -> Int
    private let delay: Double
    private var timer: DispatchSourceTimer?
    private var label: String?
    private var detail = ""
    private var started = DispatchTime.now()
    private var lastDraw = DispatchTime(uptimeNanoseconds: 0)
    private var tick = 0
    private var shown = false
    private static let spinner = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    /// `width` is the terminal's: the line is cut to fit, since a wrapped line cannot be redrawn in place.
    public init(delay: Double = 1, width: @escaping @Sendable () -> Int, write: @escaping @Sendable (String) -> Void) {
        self.delay = delay
        self.columns = width
        self.write = write
    }

    /// A line on standard error when it is a terminal (and TERM is not dumb), else nil, so
    /// redirected output stays clean.
    public static func onStandardError(delay: Double) -> ProgressLine? {
        guard isatty(STDERR_FILENO) == 1, ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return nil }
        let width: @Sendable () -> Int = { Terminal.width(of: STDERR_FILENO) }
        return ProgressLine(delay: delay, width: width) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// Columns the line may use.
    public var width: Int { columns() - 1 }

    /// Starts the clock for work named `label`; without one, the line names what the work
    /// reports through `update`, once it reports something.
    public func start(_ label: String? = nil) {
        queue.sync {
            self.label = label
            detail = ""
            started = .now()
            shown = false
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + delay, repeating: .milliseconds(200))
            timer.setEventHandler { [unowned self] in draw() }
            self.timer = timer
            timer.resume()
        }
    }

    /// How far the work has got; from any thread. A finished stage is always drawn, so the
    /// line never stops short of 100%.
    public func update(_ progress: QuiverProgress.Progress) {
        update(progress.description, finished: progress.total > 0 && progress.done >= progress.total)
    }

    /// What the work has done so far, e.g. "12,000 rows"; from any thread.
    public func update(_ detail: String) {
        update(detail, finished: false)
    }

    private func update(_ detail: String, finished: Bool) {
        queue.async { [self] in
            self.detail = detail
            let now = DispatchTime.now().uptimeNanoseconds
            guard timer != nil, Double(now - started.uptimeNanoseconds) / 1e9 >= delay,
                finished || now - lastDraw.uptimeNanoseconds >= 100_000_000
            else { return }
            draw()
        }
    }

    /// Erases the line, so results and errors start on a clean line.
    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
            if shown { write("\r\u{1B}[2K") }
            shown = false
        }
    }

    /// On `queue`.
    private func draw() {
        lastDraw = .now()
        tick += 1
        let seconds = Double(lastDraw.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        guard let line = Self.text(label: label, detail: detail, seconds: seconds, tick: tick, width: width) else {
            return
        }
        write("\r\u{1B}[2K" + line)
        shown = true
    }

    /// The line: spinner, what runs, for how long, then how far it has got (what runs and for
    /// how long first: on a narrow terminal the detail is what gets cut). nil while there is
    /// nothing to name.
    static func text(label: String?, detail: String, seconds: Double, tick: Int, width: Int) -> String? {
        guard let head = label ?? (detail.isEmpty ? nil : detail) else { return nil }
        let extra = label == nil || detail.isEmpty ? "" : " — \(detail)"
        let line =
            "\(spinner[tick % spinner.count]) \(head)  \(String(format: "%.1f", seconds)) s (Ctrl-C cancels)\(extra)"
        return DisplayWidth.truncate(line, toWidth: width)
    }
}
