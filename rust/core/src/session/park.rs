//! Releasing a session's memory and getting it back: snapshots written by a
//! release, restored (and verified) by the next turn, deleted with the session.

use std::path::{Path, PathBuf};

use super::{Data, SessionInner};
use crate::engine::Loaded;
use crate::error::{Error, Result};
use crate::memory::{snapshot, Actions};

impl SessionInner {
    /// Brings the KV cache back after a release: from the parked snapshot
    /// when it verifies and matches, else empty (the turn then re-prefills
    /// the conversation, which is all in memory: no message is lost).
    pub(super) fn ensure_cache(&self, d: &mut Data, loaded: &Loaded) {
        if d.cache.is_some() {
            return;
        }
        let mut cache = loaded.model.new_cache(self.engine.context_length());
        cache.set_meter(self.kv.clone());
        let restored = d.parked.take().and_then(|p| match snapshot::read(&p) {
            Ok((h, kv)) if h.tokens == d.context && h.model_hash == self.engine.model_hash() => {
                cache.import(h.tokens.len(), &kv).map_err(|e| log::warn!("snapshot {}: {e}", p.display())).ok()
            }
            Ok(_) => {
                log::warn!("snapshot {} is for another model or conversation; re-prefilling", p.display());
                None
            }
            Err(e) => {
                log::warn!("{e}; re-prefilling");
                None
            }
        });
        if restored.is_none() {
            d.context.clear();
        }
        d.cache = Some(cache);
    }

    pub(super) fn write_snapshot(&self, d: &mut Data, path: &Path) -> Result<()> {
        let kv = match &d.cache {
            Some(c) => c.export()?,
            // Already parked: the snapshot on disk holds the cache.
            None => match &d.parked {
                Some(p) if p == path => return Ok(()),
                Some(p) => snapshot::read(p)?.1,
                None if d.context.is_empty() => Vec::new(),
                None => return Err(Error::InvalidArgument("nothing cached to snapshot".into())),
            },
        };
        let header = snapshot::SnapshotHeader {
            model_hash: self.engine.model_hash(),
            system_prompt: d.system_prompt.clone(),
            history: d.history.clone(),
            window_start: d.window_start,
            tokens: d.context.clone(),
            kv_floats: kv.len(),
            kv_hash: snapshot::kv_hash(&kv),
        };
        snapshot::write(path, &header, &kv)
    }

    /// Drops the parked snapshot, deleting it if it is the session's own.
    pub(super) fn forget_parked(&self, d: &mut Data) {
        d.parked = None;
        if let Some(p) = &d.own_snapshot {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Applies `actions`; returns whether a snapshot was written. The session
    /// stays usable whatever fails: a failed snapshot means the cache is kept.
    pub(super) fn release_locked(&self, d: &mut Data, actions: Actions) -> Result<bool> {
        if actions.trim_kv_cache || actions.trim_scratch {
            if let Some(c) = d.cache.as_mut() {
                c.shrink_to_fit();
            }
        }
        let mut wrote = false;
        let mut snapshot_err = None;
        let dir = self.engine.memory_policy().snapshot_dir;
        if actions.snapshot_sessions && d.cache.is_some() && !d.context.is_empty() {
            if let Some(dir) = dir {
                let path: PathBuf = d.own_snapshot.get_or_insert_with(|| dir.join(super::unique_name())).clone();
                match self.write_snapshot(d, &path) {
                    Ok(()) => {
                        wrote = true;
                        d.parked = Some(path);
                    }
                    Err(e) => snapshot_err = Some(e),
                }
            }
        }
        if actions.drop_kv_cache {
            // Without a fresh snapshot the conversation is re-prefilled next turn.
            // A session already parked by an earlier release has no cache to
            // lose: its snapshot is still current and must survive this one.
            if !wrote && d.cache.is_some() {
                d.context.clear();
                d.parked = None;
            }
            d.cache = None;
        }
        match snapshot_err {
            Some(e) => Err(e),
            None => Ok(wrote),
        }
    }
}
