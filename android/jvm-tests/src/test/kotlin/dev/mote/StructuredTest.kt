package dev.mote

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import org.junit.Test

// The examples of docs/android.md's "Structured output and tools", line for line
// (DocExampleTest.docExamplesAreVerbatim checks it).

data class Recipe(val name: String, val minutes: Long)

suspend fun recipe(engine: MoteEngine): Recipe {
    // Bound strings, arrays and numbers: every valid reply then fits max_tokens.
    val schema = """{"type":"object","properties":{"name":{"type":"string","maxLength":40},"minutes":{"type":"integer","minimum":1,"maximum":600}},"required":["name","minutes"]}"""
    // The JSON always parses and validates; decode it with kotlinx.serialization in an app.
    return engine.generate("Suggest a quick pasta dish.", schema) { json ->
        val obj = Json.parseToJsonElement(json).jsonObject
        Recipe(obj["name"]!!.jsonPrimitive.content, obj["minutes"]!!.jsonPrimitive.long)
    }
}

suspend fun weather(engine: MoteEngine): String {
    val getWeather = Tool(
        name = "get_weather",
        description = "Current weather for a city",
        parameters = """{"type":"object","properties":{"city":{"type":"string","maxLength":40}},"required":["city"]}""",
    ) { argumentsJson ->
        // Runs off the main thread and may suspend (network, database).
        """{"temperature_c": 21, "sky": "sunny"}"""
    }
    val run = engine.chatWithTools("What's the weather in Paris?", listOf(getWeather), ToolChoice.Required)
    return run.answer // run.calls lists every call made
}

class StructuredTest {
    private val engine get() = TestModel.engine

    @Test
    fun theDocExamplesRun(): Unit = runBlocking {
        val r = recipe(engine)
        assertTrue(r.name.length <= 40 && r.minutes in 1..600, "$r")
        assertTrue(weather(engine).isNotEmpty())
    }

    @Test
    fun aSchemaReplyParsesIntoTheAppsType(): Unit = runBlocking {
        data class Book(val title: String, val pages: Long)
        val schema = """{"type":"object","properties":{"title":{"type":"string","maxLength":30},"pages":{"type":"integer","minimum":1,"maximum":2000}},"required":["title","pages"]}"""
        val book = engine.generate("Describe a book.", schema) { json ->
            // A minimal decoder for the test (an app would use kotlinx.serialization).
            val title = Regex("\"title\":\"([^\"]*)\"").find(json)!!.groupValues[1]
            val pages = Regex("\"pages\":(\\d+)").find(json)!!.groupValues[1].toLong()
            Book(title, pages)
        }
        assertTrue(book.title.length <= 30, "$book")
        assertTrue(book.pages in 1..2000, "$book")
        assertFailsWith<StructuredException.InvalidSchema> {
            engine.generateJson("x", """{"type":"integer","minimum":3,"maximum":1}""")
        }
    }

    @Test
    fun aToolRoundTripWithASuspendHandler(): Unit = runBlocking {
        val calls = mutableListOf<String>()
        val weather = Tool(
            name = "get_weather",
            description = "Current weather for a city",
            parameters = """{"type":"object","properties":{"city":{"type":"string","maxLength":30}},"required":["city"]}""",
        ) { args ->
            delay(1) // a suspend handler, as an app's network or database call would be
            calls += args
            """{"temperature_c": 21}"""
        }
        val run = engine.chatWithTools("What is the weather in Paris?", listOf(weather), ToolChoice.Required)
        assertEquals("get_weather", run.calls.first().first)
        assertTrue(calls.first().contains("\"city\""), "$calls")
        assertTrue(run.answer.isNotEmpty())

        val failing = Tool("get_weather", "weather", weather.parameters) { throw IllegalStateException("offline") }
        val e = assertFailsWith<StructuredException.ToolFailed> {
            engine.chatWithTools("Weather in Rome?", listOf(failing), ToolChoice.Required)
        }
        assertEquals("offline", e.reason)
        assertFailsWith<StructuredException.StepLimit> {
            engine.chatWithTools("Weather in Rome?", listOf(weather), ToolChoice.Required, maxSteps = 1)
        }
    }
}
