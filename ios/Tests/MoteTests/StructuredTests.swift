import Foundation
import XCTest
@testable import Mote

// The examples of docs/ios.md's "Structured output and tools", verbatim.

struct Recipe: Decodable {
    let name: String
    let minutes: Int
}

func recipe(engine: MoteEngine) async throws -> Recipe {
    // Bound strings, arrays and numbers: every valid reply then fits maxTokens.
    let schema = #"{"type":"object","properties":{"name":{"type":"string","maxLength":40},"minutes":{"type":"integer","minimum":1,"maximum":600}},"required":["name","minutes"]}"#
    // The JSON always parses and validates; it is decoded as `Recipe`.
    return try await engine.generate(Recipe.self, prompt: "Suggest a quick pasta dish.", schema: schema)
}

struct GetWeather: MoteTool {
    let name = "get_weather"
    let description = "Current weather for a city"
    let parameters = #"{"type":"object","properties":{"city":{"type":"string","maxLength":40}},"required":["city"]}"#

    func call(argumentsJSON: String) async throws -> String {
        // Runs off the main actor and may await (network, database).
        #"{"temperature_c": 21, "sky": "sunny"}"#
    }
}

func weather(engine: MoteEngine) async throws -> String {
    let run = try await engine.chat(prompt: "What's the weather in Paris?", tools: [GetWeather()], choice: .required)
    return run.answer // run.calls lists every call made
}


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

    func testTheDocExamplesRun() async throws {
        let engine = try await TestModel.load()
        let r = try await recipe(engine: engine)
        XCTAssert(r.name.count <= 40 && (1...600).contains(r.minutes), "\(r)")
        let answer = try await weather(engine: engine)
        XCTAssertFalse(answer.isEmpty)
    }

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
