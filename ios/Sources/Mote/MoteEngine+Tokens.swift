import MoteBindings

// Counting tokens, inference threads and thermal throttling. Counts are `Int`
// here: the generated API's Int32/Int64 only exist to cross the boundary.
extension MoteEngine {
    /// Tokens `text` takes as message content.
    public func countTokens(_ text: String) throws -> Int {
        Int(try mapped { try inner.countTokens(text: text) })
    }

    /// Tokens `messages` take as a prompt in the model's chat template, with
    /// the assistant's turn opened, as `send` feeds them.
    public func countMessageTokens(_ messages: [ChatMessage]) throws -> Int {
        Int(try mapped { try inner.countMessageTokens(messages: messages) })
    }

    /// Inference threads running now; a thermal decision may run fewer than
    /// `setThreads` asked for.
    public var threads: Int {
        get throws { Int(try mapped { try inner.threads() }) }
    }

    /// The inference threads the app wants (at least 1, else `.invalidArgument`).
    /// A thermal decision in force still caps them until the device cools.
    public func setThreads(_ threads: Int) throws {
        try mapped { try inner.setThreads(threads: ffiCount32(threads)) }
    }

    /// What `onThermalState` does at `.serious` and `.critical`.
    public var thermalPolicy: ThermalPolicy {
        get { inner.thermalPolicy() }
    }

    /// Applied from the next `onThermalState`.
    public func setThermalPolicy(_ policy: ThermalPolicy) {
        inner.setThermalPolicy(policy: policy)
    }

    /// Applies the thermal policy for `state`: `.serious`/`.critical` lower
    /// the threads or pace tokens (also mid-reply), a cooler state lifts the
    /// throttle. `MoteLifecycle` calls it on every system change; call it
    /// yourself only without one. Returns what is now in force.
    @discardableResult
    public func onThermalState(_ state: ThermalState) throws -> ThermalDecision {
        try mapped { try inner.onThermalState(state: state) }
    }
}
