import Foundation

/// A single self-overwriting progress line on stderr with rate and ETA.
/// Silent when `quiet` is set; throttled so it never costs measurable time.
public final class ProgressLine: @unchecked Sendable {
    public let label: String
    public let total: Int
    public let unit: String
    private let quiet: Bool
    private let start: Date
    private var lastPrint = Date.distantPast
    private var done = 0
    private let lock = NSLock()
    private let isTTY = isatty(2) != 0

    /// `start`: when the work began, if before this line was made (a download
    /// learns its size only once the first bytes are in).
    public init(_ label: String, total: Int, unit: String = "items", quiet: Bool = false, start: Date = Date()) {
        self.start = start
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
        self.quiet = quiet
    }

    public func advance(by n: Int = 1) {
        lock.lock(); defer { lock.unlock() }
        done += n
        let now = Date()
        // Non-terminal stderr (CI logs) gets fewer lines, a terminal gets ~5 per second.
        let interval: TimeInterval = isTTY ? 0.2 : 5
        // The last item's line is left to finish(), which says "done in".
        if done < total && now.timeIntervalSince(lastPrint) >= interval {
            lastPrint = now
            emit(now: now, final: false)
        }
    }

    public func finish() {
        lock.lock(); defer { lock.unlock() }
        emit(now: Date(), final: true)
    }

    private func emit(now: Date, final: Bool) {
        guard !quiet else { return }
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        var line = "\(label): \(done)/\(total) \(unit)"
        line += String(format: " %.1f %@/s", rate, unit)
        line += final ? String(format: " done in %@", Self.duration(elapsed)) : " ETA \(Self.duration(eta))"
        let out = isTTY ? "\r\u{1B}[K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }

    public static func duration(_ s: Double) -> String {
        if !s.isFinite { return "?" }
        let t = Int(s.rounded())
        if t < 60 { return String(format: "%.1fs", s) }
        if t < 3600 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t / 3600)h\(String(format: "%02d", (t % 3600) / 60))m"
    }
}
