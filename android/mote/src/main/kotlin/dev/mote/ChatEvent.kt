package dev.mote

/**
 * What [ChatSession.events] emits: the reply's pieces as they are generated,
 * then exactly one [Done]. Failures are thrown from the flow, not emitted, so
 * a `collect` never has to check for an error event.
 */
sealed interface ChatEvent {
    /** A UTF-8-complete piece of the reply. */
    data class Token(val text: String) : ChatEvent

    /**
     * The reply is finished and already in [ChatSession.history]. [Reply.finish]
     * says why it ended ([FinishReason.CONTEXT_FULL] when the context filled up
     * mid-reply), and [Reply.stats] what it cost.
     */
    data class Done(val reply: Reply) : ChatEvent
}
