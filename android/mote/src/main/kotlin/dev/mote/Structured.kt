package dev.mote

import dev.mote.ffi.StructuredException as FfiStructuredException
import dev.mote.ffi.ToolCallException
import dev.mote.ffi.ToolChoice as FfiToolChoice
import dev.mote.ffi.ToolHandler as FfiToolHandler
import dev.mote.ffi.ToolSpec
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext

/**
 * Every failure of structured output and tool calling. The engine and its
 * sessions stay usable after each.
 */
sealed class StructuredException(message: String) : Exception(message) {
    /** Not a JSON Schema that can be enforced (malformed, unsupported or unsatisfiable). */
    class InvalidSchema(val reason: String) : StructuredException("invalid JSON Schema: $reason")
    class InvalidGrammar(val reason: String) : StructuredException("invalid grammar: $reason")
    class TooComplex(val reason: String) : StructuredException("grammar too complex: $reason")
    /** The model called a tool that was not offered. */
    class ToolNotFound(val name: String) : StructuredException("no tool named $name")
    /** A call's arguments did not match the tool's schema. */
    class InvalidArguments(val name: String, val reason: String) : StructuredException("arguments for $name: $reason")
    /** The model was still calling tools after [steps] replies. */
    class StepLimit(val steps: Int) : StructuredException("no answer after $steps tool-calling steps")
    /** A tool handler threw; [reason] is its message. */
    class ToolFailed(val name: String, val reason: String) : StructuredException("tool $name failed: $reason")
    /** The generation itself failed (cancelled, context full, …). */
    class Engine(val reason: String) : StructuredException(reason)
}

private inline fun <T> structured(block: () -> T): T = try {
    block()
} catch (e: FfiStructuredException) {
    throw when (e) {
        is FfiStructuredException.InvalidSchema -> StructuredException.InvalidSchema(e.reason)
        is FfiStructuredException.InvalidGrammar -> StructuredException.InvalidGrammar(e.reason)
        is FfiStructuredException.TooComplex -> StructuredException.TooComplex(e.reason)
        is FfiStructuredException.ToolNotFound -> StructuredException.ToolNotFound(e.name)
        is FfiStructuredException.InvalidArguments -> StructuredException.InvalidArguments(e.name, e.reason)
        is FfiStructuredException.StepLimit -> StructuredException.StepLimit(e.steps)
        is FfiStructuredException.ToolFailed -> StructuredException.ToolFailed(e.name, e.reason)
        is FfiStructuredException.Engine -> StructuredException.Engine(e.error)
    }
}

/**
 * A function the model may call. [parameters] is the JSON Schema of its
 * arguments object; [handler] gets the arguments as JSON, already validated
 * against it, and returns the result as JSON or plain text. Handlers run
 * off the main thread; a thrown exception becomes [StructuredException.ToolFailed].
 */
class Tool(
    val name: String,
    val description: String,
    val parameters: String,
    val handler: suspend (argumentsJson: String) -> String,
)

/** Whether the model must call a tool in its first reply. */
sealed class ToolChoice {
    object Auto : ToolChoice()
    object Required : ToolChoice()
    class Named(val name: String) : ToolChoice()
    object None : ToolChoice()

    internal fun ffi(): FfiToolChoice = when (this) {
        Auto -> FfiToolChoice.Auto
        Required -> FfiToolChoice.Required
        is Named -> FfiToolChoice.Named(name)
        None -> FfiToolChoice.None
    }
}

/** A finished tool conversation. */
class ToolRun(
    /** The model's text answer. */
    val answer: String,
    /** The calls made, in order: (tool name, arguments JSON). */
    val calls: List<Pair<String, String>>,
    /** The whole conversation as a JSON array (transformers' message shapes). */
    val messagesJson: String,
)

/**
 * A reply to [prompt] that parses as JSON and validates against [schema]
 * (a JSON Schema), decoded by [decode] (for example
 * `{ Json.decodeFromString<Recipe>(it) }` with kotlinx.serialization).
 * Runs on [dispatcher].
 */
suspend fun <T> MoteEngine.generate(
    prompt: String,
    schema: String,
    config: GenerationConfig = GenerationConfig(maxTokens = 512, temperature = 0f),
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
    decode: (String) -> T,
): T = decode(generateJson(prompt, schema, config, dispatcher))

/** [generate]'s JSON text. */
suspend fun MoteEngine.generateJson(
    prompt: String,
    schema: String,
    config: GenerationConfig = GenerationConfig(maxTokens = 512, temperature = 0f),
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
): String = withContext(dispatcher) { structured { ffi.generateJson(prompt, schema, config) } }

/**
 * Answers [prompt] with [tools]: each call the model makes goes to its tool's
 * handler, the result back to the model, until it answers in text (at most
 * [maxSteps] replies). Runs on [dispatcher].
 */
suspend fun MoteEngine.chatWithTools(
    prompt: String,
    tools: List<Tool>,
    choice: ToolChoice = ToolChoice.Auto,
    maxSteps: Int = 4,
    config: GenerationConfig = GenerationConfig(maxTokens = 256, temperature = 0f),
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
): ToolRun = withContext(dispatcher) {
    val handler = object : FfiToolHandler {
        // Called on the native generating thread (never the main thread), so blocking it is fine.
        override fun call(name: String, argumentsJson: String): String {
            val tool = tools.firstOrNull { it.name == name } ?: throw ToolCallException.Failed("no tool named $name")
            return try {
                runBlocking { tool.handler(argumentsJson) }
            } catch (e: Exception) {
                throw ToolCallException.Failed(e.message ?: e.toString())
            }
        }
    }
    val specs = tools.map { ToolSpec(it.name, it.description, it.parameters) }
    val messages = "[{\"role\":\"user\",\"content\":${jsonString(prompt)}}]"
    val run = structured { ffi.runTools(messages, specs, choice.ffi(), handler, maxSteps, config) }
    ToolRun(run.answer, run.calls.map { it.name to it.argumentsJson }, run.messagesJson)
}

private fun jsonString(s: String): String = buildString {
    append('"')
    for (c in s) {
        when {
            c == '"' -> append("\\\"")
            c == '\\' -> append("\\\\")
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
    }
    append('"')
}
