//! One turn: pick the window (dropping or shifting old exchanges under the
//! context policy), bring the KV cache back if a release dropped it, prefill
//! what the cache lacks and generate.

use super::window::{self, common_prefix, ContextPolicy, Plan, Text};
use super::{Data, Point, Reply, SessionInner};
use crate::engine::Loaded;
use crate::error::{Error, Result};
use crate::generate::{self, CancelToken, Request};
use crate::template::{ChatMessage, Role};
use crate::GenerationConfig;

impl SessionInner {
    pub(super) fn turn(
        &self,
        d: &mut Data,
        user_message: &str,
        config: &GenerationConfig,
        cancel: &CancelToken,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        config.validate()?;
        let loaded = self.engine.loaded()?;
        let text = Text { tok: &loaded.tokenizer, template: &loaded.template };
        let ctx = self.engine.context_length();
        let user = ChatMessage::new(Role::User, user_message);
        let reserve = window::reserve(ctx, config.max_tokens);
        let system = d.system_prompt.clone();
        let plan = window::plan(&text, system.as_deref(), &d.history, d.window_start, &user, ctx, reserve, d.policy)?;

        self.ensure_cache(d, &loaded);
        if d.policy == ContextPolicy::Shift && plan.first > d.window_start && !d.context.is_empty() {
            self.shift(d, &text, &loaded, &plan, &user)?;
        }
        // The dropped exchanges are gone from the model's view whatever happens next.
        d.window_start = plan.first;
        self.checkpoint(Point::CacheReady);

        let cache = d.cache.as_mut().expect("ensured above");
        // At least one token must be fed to get fresh logits.
        let shared = common_prefix(&d.context, &plan.tokens).min(plan.tokens.len() - 1);
        cache.truncate(shared);
        d.context.truncate(shared);

        let extra_stops = loaded.template.turn_end_markers();
        let mut req = Request { config, cancel, extra_stops: &extra_stops, cached_prompt_tokens: shared, pace: self.engine.pace(), constraint: None };
        let mut emit = |piece: &str| {
            self.checkpoint(Point::Token);
            on_token(piece);
        };
        let result = generate::generate(loaded.model.as_ref(), &loaded.tokenizer, cache, &mut d.context, &plan.tokens[shared..], &mut req, &mut emit);
        self.checkpoint(Point::Generated);
        let g = match result {
            Ok(g) => g,
            Err(e) => {
                // The cache may hold part of a prefill; keep only what `context` vouches for.
                cache.truncate(d.context.len());
                return Err(e);
            }
        };
        d.history.push(user);
        d.history.push(ChatMessage::new(Role::Assistant, g.text.clone()));
        let mut stats = g.stats;
        stats.load_ms = self.engine.load_ms();
        match g.finish {
            Some(finish) => Ok(Reply { text: g.text, finish, stats }),
            None => Err(Error::Cancelled),
        }
    }

    /// Cuts the exchanges the plan drops out of the KV cache and re-rotates
    /// the keys after them, when the template renders them as one contiguous
    /// run of cached tokens; otherwise the turn re-prefills after the longest
    /// shared prefix, as `DropOldest` does.
    fn shift(&self, d: &mut Data, text: &Text, loaded: &Loaded, plan: &Plan, user: &ChatMessage) -> Result<()> {
        let old = text.encode(d.system_prompt.as_deref(), &d.history[d.window_start..], Some(user))?;
        let Some((at, len)) = window::cut(&old, &plan.tokens) else {
            log::debug!("context shift: the template re-renders kept turns; re-prefilling");
            return Ok(());
        };
        if common_prefix(&d.context, &old) < at + len {
            return Ok(());
        }
        let cache = d.cache.as_mut().expect("ensured by the caller");
        cache.truncate(d.context.len());
        match loaded.model.shift_cache(cache, at, len) {
            Ok(()) => {
                d.context.drain(at..at + len);
                log::debug!("context shift: dropped {len} tokens at {at}, kept {} cached", d.context.len());
            }
            Err(e) => {
                log::warn!("context shift failed, re-prefilling: {e}");
                cache.truncate(at);
                d.context.truncate(at);
            }
        }
        Ok(())
    }
}
