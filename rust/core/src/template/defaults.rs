//! Chat formats for models whose GGUF carries no `tokenizer.chat_template`,
//! chosen by the turn-marker tokens the vocabulary has.

use crate::tokenizer::Tokenizer;

/// Gemma's turn format. Gemma has no system role: the system prompt opens the
/// first user turn. The assistant speaks as "model". No BOS here: the
/// tokenizer adds it.
const GEMMA: &str = r#"{%- if messages[0]['role'] == 'system' -%}
{%- set prefix = messages[0]['content'] | trim ~ '\n\n' -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set prefix = '' -%}
{%- set turns = messages -%}
{%- endif -%}
{%- for message in turns -%}
{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
{%- if role == 'system' -%}
{{- raise_exception('a system message is only allowed first') -}}
{%- endif -%}
{{- '<start_of_turn>' ~ role ~ '\n' ~ (prefix if loop.first else '') ~ message['content'] | trim ~ '<end_of_turn>\n' -}}
{%- endfor -%}
{%- if turns | length == 0 -%}
{{- '<start_of_turn>user\n' ~ prefix ~ '<end_of_turn>\n' -}}
{%- endif -%}
{%- if add_generation_prompt -%}
{{- '<start_of_turn>model\n' -}}
{%- endif -%}"#;

const CHATML: &str = r#"{%- for message in messages -%}
{{- '<|im_start|>' ~ message['role'] ~ '\n' ~ message['content'] ~ '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}"#;

/// Llama 3's header format. It opens with `bos_token` like Meta's template;
/// rendering drops it again when the tokenizer adds BOS itself.
const LLAMA3: &str = r#"{{- bos_token -}}
{%- for message in messages -%}
{{- '<|start_header_id|>' ~ message['role'] ~ '<|end_header_id|>\n\n' ~ message['content'] | trim ~ '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
{%- endif -%}"#;

/// Plain text for vocabularies with no turn markers at all:
///
/// ```text
/// System: <system prompt>
///
/// User: <message>
///
/// Assistant:
/// ```
///
/// A base model continues this reasonably; it ends its turn by starting a new
/// "User:" line, which is why that is the turn-end marker for this format.
const PLAIN: &str = r#"{%- for message in messages -%}
{{- {'system': 'System', 'user': 'User', 'assistant': 'Assistant'}[message['role']] ~ ': ' ~ message['content'] | trim ~ '\n\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- 'Assistant:' -}}
{%- endif -%}"#;

pub(super) const PLAIN_TURN_END: &str = "\nUser:";

/// The fallback template for this vocabulary.
pub(super) fn for_vocab(tok: &Tokenizer) -> &'static str {
    let has = |t: &str| tok.token_id(t).is_some();
    if has("<start_of_turn>") && has("<end_of_turn>") {
        GEMMA
    } else if has("<|im_start|>") && has("<|im_end|>") {
        CHATML
    } else if has("<|start_header_id|>") && has("<|eot_id|>") {
        LLAMA3
    } else {
        PLAIN
    }
}

pub(super) fn is_plain(source: &str) -> bool {
    source == PLAIN
}
