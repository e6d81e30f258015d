//! A multi-turn chat. The session keeps the conversation and its own KV cache;
//! each turn re-renders the whole conversation with the model's template and
//! prefills only the tokens after the longest prefix already cached.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::generate::{self, CancelToken, Request};
use crate::model::KvCache;
use crate::stats::{FinishReason, Stats};
use crate::template::{ChatMessage, Role};
use crate::GenerationConfig;

#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub finish: FinishReason,
    pub stats: Stats,
}

pub struct Session {
    engine: Engine,
    system_prompt: Option<String>,
    history: Vec<ChatMessage>,
    /// Tokens whose keys and values are in `cache`.
    context: Vec<u32>,
    cache: Option<KvCache>,
}

impl Session {
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine, system_prompt: None, history: Vec::new(), context: Vec::new(), cache: None }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn set_system_prompt(&mut self, prompt: Option<String>) {
        self.system_prompt = prompt.filter(|p| !p.is_empty());
    }

    pub fn history(&self) -> Vec<ChatMessage> {
        self.history.clone()
    }

    /// Forgets the conversation (the system prompt stays).
    pub fn reset(&mut self) {
        self.history.clear();
        self.context.clear();
        if let Some(c) = self.cache.as_mut() {
            c.truncate(0);
        }
    }

    /// Frees the KV cache; the conversation stays and the next turn re-prefills it.
    pub fn release_cache(&mut self) {
        self.cache = None;
        self.context.clear();
    }

    pub fn cached_tokens(&self) -> usize {
        self.context.len()
    }

    /// Sends a user message and streams the reply through `on_token`. On
    /// cancellation the partial reply is kept in the history and
    /// `Error::Cancelled` is returned; on any other error the history is unchanged.
    pub fn send(
        &mut self,
        user_message: &str,
        config: &GenerationConfig,
        cancel: &CancelToken,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        let loaded = self.engine.loaded()?;
        let tok = &loaded.tokenizer;
        let mut messages = Vec::with_capacity(self.history.len() + 2);
        if let Some(s) = &self.system_prompt {
            messages.push(ChatMessage::new(Role::System, s.clone()));
        }
        messages.extend(self.history.iter().cloned());
        messages.push(ChatMessage::new(Role::User, user_message));
        let prompt = loaded.template.render(&messages, true)?;
        let mut tokens = tok.encode(&prompt, tok.add_bos(), true)?;
        if tok.add_bos() && tokens.len() >= 2 && tokens[0] == tokens[1] && Some(tokens[0]) == tok.bos_id() {
            tokens.remove(0);
        }

        let ctx = self.engine.context_length();
        let cache = self.cache.get_or_insert_with(|| loaded.model.new_cache(ctx));
        // At least one token must be fed to get fresh logits.
        let shared = common_prefix(&self.context, &tokens).min(tokens.len() - 1);
        cache.truncate(shared);
        self.context.truncate(shared);

        let extra_stops = loaded.template.turn_end_markers();
        let req = Request { config, cancel, extra_stops: &extra_stops, cached_prompt_tokens: shared };
        let result = generate::generate(
            loaded.model.as_ref(),
            tok,
            cache,
            &mut self.context,
            &tokens[shared..],
            &req,
            on_token,
        );
        let g = match result {
            Ok(g) => g,
            Err(e) => {
                // The cache may hold part of a prefill; keep only what `context` vouches for.
                cache.truncate(self.context.len());
                return Err(e);
            }
        };
        self.history.push(ChatMessage::new(Role::User, user_message));
        self.history.push(ChatMessage::new(Role::Assistant, g.text.clone()));
        let mut stats = g.stats;
        stats.load_ms = self.engine.load_ms();
        match g.finish {
            Some(finish) => Ok(Reply { text: g.text, finish, stats }),
            None => Err(Error::Cancelled),
        }
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
