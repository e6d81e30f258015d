//! Per-session key/value cache. It grows in chunks up to the session's context
//! so a short chat doesn't pay for a long context, and it can be truncated to
//! a shared prefix so a follow-up turn prefills only the new tokens.
//!
//! Rows are stored as [`KvType`] says: f16 by default (as llama.cpp does; it
//! halves the cache and what decode reads per token, with a perplexity change
//! far below 0.1 %), f32, or q8_0 blocks. Each layer's keys and values are laid
//! out [kv_head][position][row] so attention reads one head's keys as one
//! contiguous run. Rows live in `u32` units (4-byte aligned, padded) so one
//! buffer type serves every element type without unaligned access.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mote_kernels::blocks::{BlockQ8_0, QK};
use mote_kernels::ops;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const FIRST_CHUNK: usize = 256;

/// How the KV cache stores each key and value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvType {
    F32,
    /// Half precision, llama.cpp's default.
    #[default]
    F16,
    /// 8-bit blocks of 32 with an f16 scale (34 bytes per 32 values); needs
    /// a head size that is a multiple of 32.
    Q8_0,
}

impl KvType {
    pub fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
        }
    }

    pub fn parse(s: &str) -> Option<KvType> {
        [KvType::F32, KvType::F16, KvType::Q8_0].into_iter().find(|t| t.name().eq_ignore_ascii_case(s))
    }

    /// Bytes one `head_dim`-long row takes, before padding.
    pub fn row_bytes(self, head_dim: usize) -> usize {
        match self {
            KvType::F32 => 4 * head_dim,
            KvType::F16 => 2 * head_dim,
            KvType::Q8_0 => head_dim / QK * std::mem::size_of::<BlockQ8_0>(),
        }
    }

    /// Refuses a type the model's head size cannot be stored in.
    pub fn check(self, head_dim: usize) -> Result<()> {
        if self == KvType::Q8_0 && head_dim % QK != 0 {
            return Err(Error::InvalidArgument(format!("a q8_0 KV cache needs a head size divisible by {QK}, this model's is {head_dim}")));
        }
        Ok(())
    }
}

pub struct KvCache {
    layers: Vec<Option<(Vec<u32>, Vec<u32>)>>,
    kind: KvType,
    n_kv_head: usize,
    head_dim: usize,
    /// `u32` units per stored row.
    row: usize,
    capacity: usize,
    len: usize,
    max_len: usize,
    meter: Option<Arc<KvMeter>>,
}

/// The cache's allocated and used bytes, readable from any thread while its
/// owner generates (a memory report must count a generating session's cache).
#[derive(Debug, Default)]
pub struct KvMeter {
    pub allocated: AtomicU64,
    pub used: AtomicU64,
}

impl KvMeter {
    pub fn read(&self) -> (u64, u64) {
        (self.allocated.load(Ordering::Relaxed), self.used.load(Ordering::Relaxed))
    }
}

/// One layer's cached keys and values, `[kv_head][cap][row]` each.
#[derive(Clone, Copy)]
pub struct LayerKv<'a> {
    k: &'a [u32],
    v: &'a [u32],
    kind: KvType,
    head_dim: usize,
    row: usize,
    cap: usize,
}

impl LayerKv<'_> {
    fn at(&self, g: usize, j: usize) -> usize {
        debug_assert!(j < self.cap);
        (g * self.cap + j) * self.row
    }

    /// q · key `j` of KV head `g`.
    #[inline]
    pub fn key_dot(&self, g: usize, j: usize, q: &[f32]) -> f32 {
        let at = self.at(g, j);
        row_dot(self.kind, &self.k[at..at + self.row], self.head_dim, q)
    }

    /// out += w · value `j` of KV head `g`.
    #[inline]
    pub fn value_axpy(&self, g: usize, j: usize, w: f32, out: &mut [f32]) {
        let at = self.at(g, j);
        row_axpy(self.kind, &self.v[at..at + self.row], self.head_dim, w, out)
    }
}

fn as_f16(r: &[u32], n: usize) -> &[u16] {
    // SAFETY: u32 storage is 4-aligned, so viewing it as u16 is aligned;
    // the row holds at least `n` halves (its units were sized for them).
    unsafe { std::slice::from_raw_parts(r.as_ptr() as *const u16, n) }
}

fn as_q8(r: &[u32], n: usize) -> &[BlockQ8_0] {
    assert!(n * std::mem::size_of::<BlockQ8_0>() <= r.len() * 4);
    // SAFETY: BlockQ8_0 is repr(C) bytes (alignment 1, every bit pattern valid) and fits.
    unsafe { std::slice::from_raw_parts(r.as_ptr() as *const BlockQ8_0, n) }
}

fn as_f32(r: &[u32], n: usize) -> &[f32] {
    // SAFETY: same size and alignment; every bit pattern is a valid f32.
    unsafe { std::slice::from_raw_parts(r.as_ptr() as *const f32, n) }
}

#[inline]
fn row_dot(kind: KvType, r: &[u32], hd: usize, q: &[f32]) -> f32 {
    match kind {
        KvType::F32 => ops::dot_f32(q, as_f32(r, hd)),
        KvType::F16 => ops::dot_f16(q, as_f16(r, hd)),
        KvType::Q8_0 => ops::dot_q8_0(q, as_q8(r, hd / QK)),
    }
}

#[inline]
fn row_axpy(kind: KvType, r: &[u32], hd: usize, w: f32, out: &mut [f32]) {
    match kind {
        KvType::F32 => ops::axpy_f32(w, as_f32(r, hd), out),
        KvType::F16 => ops::axpy_f16(w, as_f16(r, hd), out),
        KvType::Q8_0 => ops::axpy_q8_0(w, as_q8(r, hd / QK), out),
    }
}

/// Stores the f32 row `x` into the storage row `r`.
fn store_row(kind: KvType, x: &[f32], r: &mut [u32]) {
    let n = x.len();
    // SAFETY (all three): `r` is 4-aligned u32 storage sized for the row; the
    // views are of types for which every bit pattern is valid.
    match kind {
        KvType::F32 => unsafe { std::slice::from_raw_parts_mut(r.as_mut_ptr() as *mut f32, n) }.copy_from_slice(x),
        KvType::F16 => ops::f32_to_f16_row(x, unsafe { std::slice::from_raw_parts_mut(r.as_mut_ptr() as *mut u16, n) }),
        KvType::Q8_0 => {
            assert!(n / QK * std::mem::size_of::<BlockQ8_0>() <= r.len() * 4);
            let b = unsafe { std::slice::from_raw_parts_mut(r.as_mut_ptr() as *mut BlockQ8_0, n / QK) };
            mote_kernels::quantize_q8_0(x, b)
        }
    }
}

/// Reads the storage row `r` back as f32 into `out`.
fn load_row(kind: KvType, r: &[u32], out: &mut [f32]) {
    let n = out.len();
    match kind {
        KvType::F32 => out.copy_from_slice(as_f32(r, n)),
        KvType::F16 => ops::f16_to_f32_row(as_f16(r, n), out),
        KvType::Q8_0 => {
            out.fill(0.0);
            ops::axpy_q8_0(1.0, as_q8(r, n / QK), out)
        }
    }
}

impl KvCache {
    pub fn new(n_layer: usize, n_kv_head: usize, head_dim: usize, max_len: usize, kind: KvType) -> Self {
        Self {
            layers: (0..n_layer).map(|_| None).collect(),
            kind,
            n_kv_head,
            head_dim,
            row: kind.row_bytes(head_dim).div_ceil(4),
            capacity: 0,
            len: 0,
            max_len,
            meter: None,
        }
    }

    pub fn kind(&self) -> KvType {
        self.kind
    }

    /// Publishes this cache's sizes to `meter` from now on (and zero when dropped).
    pub fn set_meter(&mut self, meter: Arc<KvMeter>) {
        self.meter = Some(meter);
        self.publish();
    }

    fn publish(&self) {
        if let Some(m) = &self.meter {
            m.allocated.store(self.allocated_bytes() as u64, Ordering::Relaxed);
            m.used.store(self.used_bytes() as u64, Ordering::Relaxed);
        }
    }

    /// Tokens whose keys and values are cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Forgets everything after `len` tokens; the memory stays for reuse.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        self.publish();
    }

    /// Removes positions `start..start + n` and moves the later ones down,
    /// calling `fix_key(layer, key)` on each moved key (one head's vector, as
    /// f32) so the caller can re-rotate it for its new position (a KV shift).
    pub fn remove_range(&mut self, start: usize, n: usize, fix_key: &dyn Fn(usize, &mut [f32])) -> Result<()> {
        if start + n > self.len {
            return Err(Error::InvalidArgument(format!("cannot remove {start}..{} of {} cached", start + n, self.len)));
        }
        let (row, cap, len, kind) = (self.row, self.capacity, self.len, self.kind);
        let mut key = vec![0f32; self.head_dim];
        for (il, slot) in self.layers.iter_mut().enumerate() {
            let Some((k, v)) = slot.as_mut() else { continue };
            for g in 0..self.n_kv_head {
                let base = g * cap * row;
                k.copy_within(base + (start + n) * row..base + len * row, base + start * row);
                v.copy_within(base + (start + n) * row..base + len * row, base + start * row);
                for r in k[base + start * row..base + (len - n) * row].chunks_exact_mut(row) {
                    load_row(kind, r, &mut key);
                    fix_key(il, &mut key);
                    store_row(kind, &key, r);
                }
            }
        }
        self.len -= n;
        self.publish();
        Ok(())
    }

    /// Frees the cache's memory; the next forward pass starts from nothing.
    pub fn release(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.capacity = 0;
        self.len = 0;
        self.publish();
    }

    /// Gives back capacity beyond the cached tokens.
    pub fn shrink_to_fit(&mut self) {
        if self.capacity > self.len {
            let keep = self.len;
            if keep == 0 {
                self.release();
                return;
            }
            self.resize_layers(keep);
        }
    }

    /// Bytes allocated (not only used) by the cache.
    pub fn allocated_bytes(&self) -> usize {
        let per_layer = 2 * self.n_kv_head * self.capacity * self.row * 4;
        per_layer * self.layers.iter().filter(|l| l.is_some()).count()
    }

    /// Bytes the cached tokens need.
    pub fn used_bytes(&self) -> usize {
        2 * self.n_kv_head * self.len * self.row * 4 * self.layers.len()
    }

    /// Bytes a cache of `positions` tokens takes in every layer.
    pub fn bytes_for(kind: KvType, n_layer: usize, n_kv_head: usize, head_dim: usize, positions: usize) -> u64 {
        (2 * n_layer * n_kv_head * positions * kind.row_bytes(head_dim).div_ceil(4) * 4) as u64
    }

    /// Writes `seq` new positions for layer `il` after the cached ones. `k`
    /// and `v` are token-major: `[seq][kv_head][head_dim]`.
    pub fn write(&mut self, il: usize, k: &[f32], v: &[f32], seq: usize) -> Result<()> {
        let total = self.len + seq;
        if total > self.max_len {
            return Err(Error::ContextFull { context: self.max_len });
        }
        if total > self.capacity {
            self.grow(total)?;
        }
        let (hd, nkv, cap, len, row, kind) = (self.head_dim, self.n_kv_head, self.capacity, self.len, self.row, self.kind);
        let (ck, cv) = self.layers[il].get_or_insert_with(|| (vec![0u32; nkv * cap * row], vec![0u32; nkv * cap * row]));
        for t in 0..seq {
            for g in 0..nkv {
                let src = (t * nkv + g) * hd;
                let dst = (g * cap + len + t) * row;
                store_row(kind, &k[src..src + hd], &mut ck[dst..dst + row]);
                store_row(kind, &v[src..src + hd], &mut cv[dst..dst + row]);
            }
        }
        Ok(())
    }

    /// Layer `il`'s storage; positions past `len + written` are unspecified.
    pub fn layer(&self, il: usize) -> LayerKv<'_> {
        let (k, v) = self.layers[il].as_ref().map_or((&[][..], &[][..]), |(k, v)| (&k[..], &v[..]));
        LayerKv { k, v, kind: self.kind, head_dim: self.head_dim, row: self.row, cap: self.capacity }
    }

    /// Marks `seq` positions appended by every layer as cached.
    pub fn advance(&mut self, seq: usize) {
        self.len += seq;
        self.publish();
    }

    fn grow(&mut self, needed: usize) -> Result<()> {
        let mut cap = self.capacity.max(FIRST_CHUNK.min(self.max_len));
        while cap < needed {
            cap = (cap * 2).min(self.max_len);
        }
        self.resize_layers(cap);
        Ok(())
    }

    /// Moves every allocated layer to a capacity of `cap` positions, keeping
    /// the cached ones.
    fn resize_layers(&mut self, cap: usize) {
        let (row, nkv, old, keep) = (self.row, self.n_kv_head, self.capacity, self.len.min(cap));
        for slot in self.layers.iter_mut() {
            if let Some((k, v)) = slot.as_mut() {
                for d in [k, v] {
                    let mut n = vec![0u32; nkv * cap * row];
                    for g in 0..nkv {
                        n[g * cap * row..][..keep * row].copy_from_slice(&d[g * old * row..][..keep * row]);
                    }
                    *d = n;
                }
            }
        }
        self.capacity = cap;
        self.publish();
    }

    /// The cached keys and values as flat f32 data, layer by layer, for
    /// snapshots (f16 and q8_0 rows convert back exactly on import).
    pub fn export(&self) -> Result<Vec<f32>> {
        let hd = self.head_dim;
        let mut out = vec![0f32; 2 * self.layers.len() * self.n_kv_head * self.len * hd];
        let mut rows = out.chunks_exact_mut(hd);
        let (row, cap) = (self.row, self.capacity);
        for slot in &self.layers {
            let (k, v) = slot.as_ref().ok_or_else(|| Error::Backend("KV cache layer not allocated".into()))?;
            for d in [k, v] {
                for g in 0..self.n_kv_head {
                    for j in 0..self.len {
                        let r = &d[(g * cap + j) * row..][..row];
                        load_row(self.kind, r, rows.next().expect("sized for every row"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Restores what [`export`](Self::export) produced for `len` tokens.
    pub fn import(&mut self, len: usize, data: &[f32]) -> Result<()> {
        let hd = self.head_dim;
        let per = self.n_kv_head * len * hd;
        if len > self.max_len || data.len() != per * 2 * self.layers.len() {
            return Err(Error::InvalidArgument("KV snapshot does not match this model and context".into()));
        }
        self.release();
        self.grow(len.max(1))?;
        if len == 0 {
            return Ok(());
        }
        let (row, cap, nkv, kind) = (self.row, self.capacity, self.n_kv_head, self.kind);
        for (il, chunk) in data.chunks(per * 2).enumerate() {
            let mut pair = (vec![0u32; nkv * cap * row], vec![0u32; nkv * cap * row]);
            for (dst, src) in [(&mut pair.0, &chunk[..per]), (&mut pair.1, &chunk[per..])] {
                for g in 0..nkv {
                    for j in 0..len {
                        store_row(kind, &src[(g * len + j) * hd..][..hd], &mut dst[(g * cap + j) * row..][..row]);
                    }
                }
            }
            self.layers[il] = Some(pair);
        }
        self.len = len;
        self.publish();
        Ok(())
    }
}

impl Drop for KvCache {
    fn drop(&mut self) {
        if let Some(m) = &self.meter {
            m.allocated.store(0, Ordering::Relaxed);
            m.used.store(0, Ordering::Relaxed);
        }
    }
}
