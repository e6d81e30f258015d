import MoteBindings

/// Every failure of `ModelManager`. Branch on what the app can act on: no
/// network (`.network`, `.http`), no space (`.noSpace`), a bad file
/// (`.checksumMismatch`, `.validationFailed`). `.cancelled` is a pause:
/// pulling the same model again resumes where it stopped.
public enum ModelError: Error, Sendable, Equatable {
    /// The network failed and the retries are used up; the partial file is kept for a resume.
    case network(url: String, attempts: Int, reason: String)
    /// The server answered with an HTTP error retrying does not fix.
    case http(url: String, status: Int)
    /// The bytes do not hash to the expected SHA-256; the file was removed.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// Not enough free space (bytes); nothing was installed.
    case noSpace(path: String, needed: Int, available: Int)
    case storage(path: String, reason: String)
    /// Paused by something other than the calling task; the partial file is kept.
    case cancelled
    /// Another pull of the same file is running.
    case inProgress(path: String)
    case notInstalled(name: String)
    case unknownEntry(id: String)
    case invalidCatalogue(reason: String)
    /// The version failed activation; the previously active version stays active.
    case validationFailed(name: String, version: Int, reason: String)
    case invalidArgument(reason: String)
    case `internal`(reason: String)

    init(_ raw: MoteBindings.ModelError) {
        switch raw {
        case .Network(let url, let attempts, let reason): self = .network(url: url, attempts: Int(attempts), reason: reason)
        case .Http(let url, let status): self = .http(url: url, status: Int(status))
        case .ChecksumMismatch(let path, let expected, let actual):
            self = .checksumMismatch(path: path, expected: expected, actual: actual)
        case .NoSpace(let path, let needed, let available):
            self = .noSpace(path: path, needed: Int(needed), available: Int(available))
        case .Storage(let path, let reason): self = .storage(path: path, reason: reason)
        case .Cancelled: self = .cancelled
        case .InProgress(let path): self = .inProgress(path: path)
        case .NotInstalled(let name): self = .notInstalled(name: name)
        case .UnknownEntry(let id): self = .unknownEntry(id: id)
        case .InvalidCatalogue(let reason): self = .invalidCatalogue(reason: reason)
        case .ValidationFailed(let name, let version, let reason):
            self = .validationFailed(name: name, version: Int(version), reason: reason)
        case .InvalidArgument(let reason): self = .invalidArgument(reason: reason)
        case .Internal(let reason): self = .internal(reason: reason)
        }
    }
}

/// Runs a model-manager call, translating its errors into `ModelError`.
func modelCall<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let raw as MoteBindings.ModelError {
        throw ModelError(raw)
    }
}
