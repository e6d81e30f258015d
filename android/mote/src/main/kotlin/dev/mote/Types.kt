package dev.mote

// The generated records are already idiomatic data classes with defaults;
// aliasing them keeps one source of truth and lets apps import only dev.mote.

typealias LoadOptions = dev.mote.ffi.LoadOptions
typealias GenerationConfig = dev.mote.ffi.GenerationConfig
typealias Reply = dev.mote.ffi.Reply
typealias Stats = dev.mote.ffi.Stats
typealias ChatMessage = dev.mote.ffi.ChatMessage
typealias Role = dev.mote.ffi.Role
typealias FinishReason = dev.mote.ffi.FinishReason
typealias ModelInfo = dev.mote.ffi.ModelInfo
