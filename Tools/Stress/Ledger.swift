import Foundation

/// What the threads share, under one lock: the acknowledged state (`Model`), the write in
/// flight, where the server listens, the phase of the run, what each thread is doing, the
/// tallies and the problems found.
final class Ledger: @unchecked Sendable {
    enum Phase { case running, down, stopping }

    struct Endpoints { var tcpHost = "127.0.0.1", tcpPort: Int?, socketPath: String? }

    struct Activity { var what: String, since: Date }

    private let condition = NSCondition()
    private var model = Model()
    /// The writer's operation sent but not yet acknowledged: after a kill it may or may not
    /// have committed.
    private var inFlight: Operation?
    private var phase = Phase.running
    /// Bumped by every kill: a thread that sees it change makes new connections.
    private var epoch = 0
    private var endpoints: Endpoints
    private var parked = Set<String>()
    private var finishedThreads = Set<String>()
    private var activity: [String: Activity] = [:]
    private var counts: [String: Int] = [:]
    private var problemList: [String] = []
    private var problemCount = 0

    init(endpoints: Endpoints) { self.endpoints = endpoints }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    // MARK: The writer's side

    /// Plans the next write from the acknowledged state and records it as in flight.
    func begin(_ plan: (Model) -> Operation) -> Operation {
        locked {
            let operation = plan(model)
            inFlight = operation
            return operation
        }
    }

    /// The server answered 2xx: the write is committed and from now on every read must see it.
    func acknowledge(_ operation: Operation) {
        locked {
            model = operation.applied(to: model)
            inFlight = nil
        }
    }

    // MARK: The readers' side

    /// The acknowledged state as a read begins (a copy: the writer's changes copy on write).
    var acknowledged: Model { locked { model } }

    /// True while nothing may have changed the batch since it was read as `version`: no update
    /// or delete of it in flight or acknowledged since.
    func isStable(_ batch: Int64, version: Int) -> Bool {
        locked { model.batches[batch]?.version == version && inFlight?.touchedBatch != batch }
    }

    // MARK: Kills and restarts

    var currentEpoch: Int { locked { epoch } }
    var currentEndpoints: Endpoints { locked { endpoints } }

    /// Before a kill: threads stop sending and park; requests failing from now on are expected.
    func goDown() {
        locked {
            phase = .down
            epoch += 1
            condition.broadcast()
        }
    }

    /// After a restart and its check: the checked state becomes the acknowledged one (the write
    /// in flight at the kill is settled either way) and the threads go on.
    func resume(_ phase: Phase, model checked: Model, endpoints new: Endpoints) {
        locked {
            model = checked
            inFlight = nil
            endpoints = new
            self.phase = phase
            condition.broadcast()
        }
    }

    func stop() {
        locked {
            phase = .stopping
            condition.broadcast()
        }
    }

    /// What the verifier needs after a kill: the acknowledged state and the write that may or
    /// may not have committed.
    var settledState: (model: Model, inFlight: Operation?) { locked { (model, inFlight) } }

    /// True when a request that began in `epoch` failed because the server was killed or died:
    /// a kill is flagged before it is sent, a death noticed within a fraction of a second, so a
    /// failure waits a moment for either before it counts as a problem.
    func failureIsExplained(since epoch: Int) -> Bool {
        locked {
            let deadline = Date().addingTimeInterval(1)
            while self.epoch == epoch && Date() < deadline { _ = condition.wait(until: deadline) }
            return self.epoch != epoch
        }
    }

    /// Waits while the server is down. Returns the epoch to work in, or nil when the run stops.
    func awaitRunning(_ who: String) -> Int? {
        locked {
            while phase == .down {
                parked.insert(who)
                activity[who] = nil
                condition.broadcast()
                condition.wait()
            }
            parked.remove(who)
            return phase == .running ? epoch : nil
        }
    }

    /// Waits until each of the named threads is parked or finished; false on timeout.
    func awaitParked(_ threads: Set<String>, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        return locked {
            while !threads.subtracting(parked).subtracting(finishedThreads).isEmpty {
                if Date() >= deadline { return false }
                _ = condition.wait(until: deadline)
            }
            return true
        }
    }

    /// A thread is done (the run stops, or it gave up).
    func finished(_ who: String) {
        locked {
            finishedThreads.insert(who)
            activity[who] = nil
            condition.broadcast()
        }
    }

    // MARK: Activity, tallies, problems

    func doing(_ who: String, _ what: String) { locked { activity[who] = Activity(what: what, since: Date()) } }
    func idle(_ who: String) { locked { activity[who] = nil } }
    var activities: [String: Activity] { locked { activity } }

    func count(_ what: String, _ n: Int = 1) { locked { counts[what, default: 0] += n } }
    var tallies: [String: Int] { locked { counts } }

    func problem(_ text: String) {
        locked {
            problemCount += 1
            if problemList.count < 50 { problemList.append(text) }
        }
    }

    var problems: (count: Int, first: [String]) { locked { (problemCount, problemList) } }
}
