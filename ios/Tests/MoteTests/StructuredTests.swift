import Foundation
import XCTest
@testable import Mote

struct Weather: MoteTool {
    let seen: Collected<String>
    let name = "get_weather"
    let description = "Current weather for a city"
    let parameters = #"{"type":"object","properties":{"city":{"type":"string","maxLength":30}},"required":["city"]}"#
    func call(argumentsJSON: String) async throws -> String {
        try await Task.sleep(nanoseconds: 1_000) // an async tool, as a network call would be
        seen.append(argumentsJSON)
        return #"{"temperature_c": 21}"#
    }
}

struct Offline: MoteTool {
    struct Down: Error {}
    let name = "get_weather"
    let description = "weather"
    let parameters = #"{"type":"object","properties":{"city":{"type":"string","maxLength":30}},"required":["city"]}"#
    func call(argumentsJSON: String) async throws -> String { throw Down() }
}

final class StructuredTests: XCTestCase {
    struct Book: Decodable { let title: String; let pages: Int }

    func testASchemaReplyDecodesIntoTheAppsType() async throws {
        let engine = try await TestModel.load()
        let schema = #"{"type":"object","properties":{"title":{"type":"string","maxLength":30},"pages":{"type":"integer","minimum":1,"maximum":2000}},"required":["title","pages"]}"#
        let book = try await engine.generate(Book.self, prompt: "Describe a book.", schema: schema)
        XCTAssertLessThanOrEqual(book.title.count, 30)
        XCTAssert((1...2000).contains(book.pages), "\(book)")
        do {
            _ = try await engine.generateJSON(prompt: "x", schema: #"{"type":"integer","minimum":3,"maximum":1}"#)
            XCTFail("an unsatisfiable schema was accepted")
        } catch StructuredError.invalidSchema {}
    }

    func testAToolRoundTripWithAnAsyncTool() async throws {
        let engine = try await TestModel.load()
        let seen = Collected<String>()
        let run = try await engine.chat(prompt: "What is the weather in Paris?", tools: [Weather(seen: seen)], choice: .required)
        XCTAssertEqual(run.calls.first?.name, "get_weather")
        XCTAssert(seen.all.first?.contains("\"city\"") ?? false, "\(seen.all)")
        XCTAssertFalse(run.answer.isEmpty)
        do {
            _ = try await engine.chat(prompt: "Weather in Rome?", tools: [Offline()], choice: .required)
            XCTFail("a failing tool was not reported")
        } catch StructuredError.toolFailed(let name, _) {
            XCTAssertEqual(name, "get_weather")
        }
        do {
            _ = try await engine.chat(prompt: "Weather in Rome?", tools: [Weather(seen: seen)], choice: .required, maxSteps: 1)
            XCTFail("the step limit was not enforced")
        } catch StructuredError.stepLimit(let steps) {
            XCTAssertEqual(steps, 1)
        }
    }
}
