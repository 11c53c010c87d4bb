import Dispatch
import Foundation
import QuiverFormats

/// A status line on the terminal for statements that take a while (imports, index builds, big
/// updates): after a second it shows what runs, for how long, and any detail the work reports
/// (rows imported so far), redrawn in place; it is erased when the work ends. Nothing is drawn
/// for work that ends within the second, or when the shell is not on a terminal.
final class ProgressLine: @unchecked Sendable {
    private let queue = DispatchQueue(label: "quiver.shell.progress")
    private let write: @Sendable (String) -> Void
    private let width: @Sendable () -> Int
    private var timer: DispatchSourceTimer?
    private var label = ""
    private var detail = ""
    private var started = DispatchTime.now()
    private var shown = false
    private static let spinner = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    /// `width` is the terminal's: the line is cut to fit, since a wrapped line cannot be redrawn in place.
    init(width: @escaping @Sendable () -> Int, write: @escaping @Sendable (String) -> Void) {
        self.width = width
        self.write = write
    }

    func start(_ label: String) {
        queue.sync {
            self.label = label
            detail = ""
            started = .now()
            shown = false
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + 1, repeating: .milliseconds(200))
            var tick = 0
            timer.setEventHandler { [unowned self] in
                tick += 1
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                let spin = Self.spinner[tick % Self.spinner.count]
                // What runs and for how long first: on a narrow terminal the detail is what gets cut.
                let extra = detail.isEmpty ? "" : " — \(detail)"
                let line = "\(spin) \(self.label)  \(String(format: "%.1f", seconds)) s (Ctrl-C cancels)\(extra)"
                write("\r\u{1B}[K" + DisplayWidth.truncate(line, toWidth: width() - 1))
                shown = true
            }
            self.timer = timer
            timer.resume()
        }
    }

    /// What the work has done so far, e.g. "12,000 rows".
    func update(_ detail: String) {
        queue.async { self.detail = detail }
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
            if shown { write("\r\u{1B}[K") }
            shown = false
        }
    }
}
