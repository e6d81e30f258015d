import Foundation

/// Times a streamed reply from the app's side, live as the pieces arrive (the
/// SDK's `Stats` only come with the finished reply), so TTFT and speed are
/// measured here: TTFT from the call to the first piece (it includes prefill,
/// like `Stats.ttftMs`), speed over the pieces after the first. A piece is one
/// token except where the SDK holds text back to complete a UTF-8 character or
/// rule out a stop string, so the rate can read slightly low, never high.
struct ReplyTimer {
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var first: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant?
    private var pieces = 0

    init() {
        start = clock.now
    }

    mutating func onPiece() {
        let now = clock.now
        if first == nil { first = now }
        last = now
        pieces += 1
    }

    /// "TTFT 312 ms · 41.2 tok/s · 128 tokens", or nil before the first piece.
    var summary: String? {
        guard let first, let last else { return nil }
        let ttftMs = (first - start).seconds * 1000
        let decodeS = (last - first).seconds
        let rate = pieces > 1 && decodeS > 0
            ? String(format: "%.1f tok/s", Double(pieces - 1) / decodeS)
            : "– tok/s"
        return "TTFT \(Int(ttftMs.rounded())) ms · \(rate) · \(pieces) tokens"
    }
}

private extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
