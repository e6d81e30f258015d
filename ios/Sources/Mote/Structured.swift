import Foundation
import MoteBindings

/// Every failure of structured output and tool calling. The engine and its
/// sessions stay usable after each.
public enum StructuredError: Error, Sendable, Equatable {
    /// Not a JSON Schema that can be enforced (malformed, unsupported or unsatisfiable).
    case invalidSchema(reason: String)
    case invalidGrammar(reason: String)
    case tooComplex(reason: String)
    /// The model called a tool that was not offered.
    case toolNotFound(name: String)
    /// A call's arguments did not match the tool's schema.
    case invalidArguments(name: String, reason: String)
    /// The model was still calling tools after `steps` replies.
    case stepLimit(steps: Int)
    /// A tool threw; `reason` describes the error.
    case toolFailed(name: String, reason: String)
    /// The generation itself failed (cancelled, context full, …).
    case engine(reason: String)
    /// The reply parsed as JSON but did not decode into the requested type.
    case decoding(reason: String)

    init(_ raw: MoteBindings.StructuredError) {
        switch raw {
        case .InvalidSchema(let reason): self = .invalidSchema(reason: reason)
        case .InvalidGrammar(let reason): self = .invalidGrammar(reason: reason)
        case .TooComplex(let reason): self = .tooComplex(reason: reason)
        case .ToolNotFound(let name): self = .toolNotFound(name: name)
        case .InvalidArguments(let name, let reason): self = .invalidArguments(name: name, reason: reason)
        case .StepLimit(let steps): self = .stepLimit(steps: Int(steps))
        case .ToolFailed(let name, let reason): self = .toolFailed(name: name, reason: reason)
        case .Engine(let error): self = .engine(reason: error)
        }
    }
}

func structured<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let raw as MoteBindings.StructuredError {
        throw StructuredError(raw)
    }
}

/// A function the model may call, in the spirit of Foundation Models' `Tool`:
/// `parameters` is the JSON Schema of its arguments object; `call` gets the
/// arguments as JSON, already validated against it, and returns the result as
/// JSON or plain text. A thrown error becomes `StructuredError.toolFailed`.
public protocol MoteTool: Sendable {
    var name: String { get }
    var description: String { get }
    var parameters: String { get }
    func call(argumentsJSON: String) async throws -> String
}

public enum ToolChoice: Sendable, Equatable {
    case auto, required, none
    case named(String)

    var ffi: MoteBindings.ToolChoice {
        switch self {
        case .auto: return .auto
        case .required: return .required
        case .none: return .none
        case .named(let name): return .named(name: name)
        }
    }
}

/// A finished tool conversation.
public struct ToolRun: Sendable {
    /// The model's text answer.
    public let answer: String
    /// The calls made, in order.
    public let calls: [(name: String, argumentsJSON: String)]
    /// The whole conversation as a JSON array (transformers' message shapes).
    public let messagesJSON: String
}

/// The native side calls tools synchronously on its generating thread (never
/// the main thread); this waits there for the tool's async `call`.
private final class Handler: MoteBindings.ToolHandler, @unchecked Sendable {
    let tools: [any MoteTool]
    init(_ tools: [any MoteTool]) { self.tools = tools }

    func call(name: String, argumentsJson: String) throws -> String {
        guard let tool = tools.first(where: { $0.name == name }) else {
            throw MoteBindings.ToolCallError.Failed(reason: "no tool named \(name)")
        }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.set(.success(try await tool.call(argumentsJSON: argumentsJson))) }
            catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        switch box.get() {
        case .success(let s): return s
        case .failure(let e): throw MoteBindings.ToolCallError.Failed(reason: String(describing: e))
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<String, Error> = .failure(CancellationError())
    func set(_ v: Result<String, Error>) { lock.withLock { value = v } }
    func get() -> Result<String, Error> { lock.withLock { value } }
}

extension MoteEngine {
    /// A reply to `prompt` that parses as JSON and validates against `schema`
    /// (a JSON Schema), decoded as `T`. Runs on a detached task.
    public func generate<T: Decodable>(
        _ type: T.Type, prompt: String, schema: String, config: GenerationConfig = .greedy(maxTokens: 512)
    ) async throws -> T {
        let json = try await generateJSON(prompt: prompt, schema: schema, config: config)
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.utf8))
        } catch {
            throw StructuredError.decoding(reason: String(describing: error))
        }
    }

    /// `generate`'s JSON text.
    public func generateJSON(prompt: String, schema: String, config: GenerationConfig = .greedy(maxTokens: 512)) async throws -> String {
        let inner = self.inner
        return try await Task.detached(priority: .userInitiated) {
            try structured { try inner.generateJson(prompt: prompt, schemaJson: schema, config: config) }
        }.value
    }

    /// Answers `prompt` with `tools`: each call goes to its tool, the result
    /// back to the model, until it answers in text (at most `maxSteps` replies).
    public func chat(
        prompt: String, tools: [any MoteTool], choice: ToolChoice = .auto, maxSteps: Int = 4,
        config: GenerationConfig = .greedy(maxTokens: 256)
    ) async throws -> ToolRun {
        let inner = self.inner
        let specs = tools.map { ToolSpec(name: $0.name, description: $0.description, parametersJson: $0.parameters) }
        let messages = String(decoding: try JSONSerialization.data(withJSONObject: [["role": "user", "content": prompt]]), as: UTF8.self)
        let handler = Handler(tools)
        let run = try await Task.detached(priority: .userInitiated) {
            try structured {
                try inner.runTools(
                    messagesJson: messages, tools: specs, choice: choice.ffi, handler: handler,
                    maxSteps: ffiCount32(maxSteps), config: config)
            }
        }.value
        return ToolRun(answer: run.answer, calls: run.calls.map { ($0.name, $0.argumentsJson) }, messagesJSON: run.messagesJson)
    }
}
