//! `QMatrix`: a quantized weight matrix borrowed from a (usually memory-mapped) buffer.

use crate::acts::{self, ActBuf};
use crate::dispatch::{self, Rows4Fn, Tile4Fn, Tile4x4Fn, TileFn};
use crate::{ActType, DotFn, Isa, KernelError, QuantType, ThreadPool};
use std::cell::RefCell;
use std::sync::Arc;

pub struct QMatrix {
    qtype: QuantType,
    rows: usize,
    cols: usize,
    data: Arc<dyn AsRef<[u8]> + Send + Sync>,
    offset: usize,
    row_bytes: usize,
    isa: Isa,
    dot: DotFn,
    tile: Option<TileFn>,
    tile4x4: Option<(Tile4x4Fn, acts::Pack4)>,
    tile4: Option<Tile4Fn>,
    rows4: Option<Rows4Fn>,
}

impl core::fmt::Debug for QMatrix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("QMatrix")
            .field("qtype", &self.qtype)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("offset", &self.offset)
            .field("isa", &self.isa)
            .finish()
    }
}

thread_local! {
    // Quantized activations of the calling thread, one buffer per activation
    // format, and their 4×4-tile packing; each grows to the largest m × cols
    // seen and is then reused.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Default::default());
}

#[derive(Default)]
struct Scratch {
    acts: [ActBuf; N_ACT],
    packed: [Vec<u8>; N_ACT],
}

/// Number of activation formats (scratch buffers per thread).
const N_ACT: usize = 4;

fn act_slot(a: ActType) -> usize {
    match a {
        ActType::Q8_0 => 0,
        ActType::Q8_1 => 1,
        ActType::Q8K => 2,
        ActType::BF16 => 3,
    }
}

/// One product of a `matmul_many` job, split into `n_tasks` row chunks.
struct Plan<'a> {
    w: &'a QMatrix,
    acts: &'a [u8],
    /// The activations packed for `tile4x4` (empty when it is not used).
    packed: &'a [u8],
    y: SyncPtr<f32>,
    chunk: usize,
    n_tasks: usize,
}

/// Lets tasks write disjoint parts of one output slice.
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    // A method (not `.0`) so closures capture the whole Sync wrapper.
    fn get(self) -> *mut T {
        self.0
    }
}

/// Weight bytes a 4-row tile loop keeps hot while it sweeps the activations.
const TILE_WEIGHT_BYTES: usize = 12 * 1024;

/// Below this many weight bytes per task, splitting costs more than it gains.
const MIN_TASK_BYTES: usize = 16 * 1024;

impl QMatrix {
    pub fn new(
        qtype: QuantType,
        rows: usize,
        cols: usize,
        data: Arc<dyn AsRef<[u8]> + Send + Sync>,
        offset: usize,
    ) -> Result<QMatrix, KernelError> {
        let row_bytes = match qtype.row_bytes(cols) {
            Some(rb) if cols > 0 && rows > 0 => rb,
            _ => return Err(KernelError::BadShape { qtype, rows, cols }),
        };
        let available = (*data).as_ref().len();
        let needed = row_bytes.checked_mul(rows);
        match needed.and_then(|n| n.checked_add(offset)) {
            Some(end) if end <= available => {}
            _ => {
                return Err(KernelError::OutOfBounds { offset, needed: needed.unwrap_or(usize::MAX), available })
            }
        }
        let isa = crate::isa();
        Ok(QMatrix {
            qtype,
            rows,
            cols,
            data,
            offset,
            row_bytes,
            isa,
            dot: dispatch::dot_fn(isa, qtype),
            tile: dispatch::tile_fn(isa, qtype),
            tile4x4: dispatch::tile4x4_fn(isa, qtype),
            tile4: dispatch::tile4_fn(isa, qtype),
            rows4: dispatch::rows4_fn(isa, qtype),
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn qtype(&self) -> QuantType {
        self.qtype
    }
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Heap bytes owned beyond the shared buffer (0: weights are used in place).
    pub fn resident_bytes(&self) -> usize {
        0
    }

    /// Switches this matrix to another (supported) ISA; tests and benchmarks use it to compare paths.
    pub fn set_isa(&mut self, isa: Isa) -> Result<(), KernelError> {
        if !dispatch::supported_isas().contains(&isa) {
            return Err(KernelError::UnsupportedIsa(isa));
        }
        self.isa = isa;
        self.dot = dispatch::dot_fn(isa, self.qtype);
        self.tile = dispatch::tile_fn(isa, self.qtype);
        self.tile4x4 = dispatch::tile4x4_fn(isa, self.qtype);
        self.tile4 = dispatch::tile4_fn(isa, self.qtype);
        self.rows4 = dispatch::rows4_fn(isa, self.qtype);
        Ok(())
    }

    /// The ggml bytes of all rows.
    pub fn bytes(&self) -> &[u8] {
        &(*self.data).as_ref()[self.offset..self.offset + self.rows * self.row_bytes]
    }

    /// y (m × rows) = x (m × cols) · Wᵀ.
    pub fn matmul(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        Self::matmul_many(pool, x, m, &mut [(self, y)]);
    }

    /// Several products of the same input (Q/K/V, gate/up) as one parallel
    /// job: the activations are quantized once per activation format and the
    /// pool is woken once, which is most of the cost of a small decode matmul.
    pub fn matmul_many(pool: &ThreadPool, x: &[f32], m: usize, parts: &mut [(&QMatrix, &mut [f32])]) {
        let Some(cols) = parts.first().map(|p| p.0.cols) else { return };
        assert!(x.len() >= m * cols, "matmul: x has {} values, need {}", x.len(), m * cols);
        for (w, y) in parts.iter() {
            assert_eq!(w.cols, cols, "matmul_many: matrices take different input widths");
            assert!(y.len() >= m * w.rows, "matmul: y has {} values, need {}", y.len(), m * w.rows);
        }
        if m == 0 {
            return;
        }
        let mut bufs = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let (mut done, mut packed) = ([false; N_ACT], [false; N_ACT]);
        for (w, _) in parts.iter() {
            let k = act_slot(w.qtype.act_type());
            if !done[k] {
                w.quantize_acts(pool, &x[..m * cols], m, &mut bufs.acts[k]);
                done[k] = true;
            }
            if let (Some((_, layout)), true, false) = (w.tile4x4, m >= 4, packed[k]) {
                // One layout per activation format: every matrix of a product runs on one ISA.
                let act = w.qtype.act_type();
                let nb = cols / act.block_len();
                acts::pack4(layout, act, bufs.acts[k].bytes(), ActBuf::row_bytes(w.qtype, cols), m, nb, &mut bufs.packed[k]);
                packed[k] = true;
            }
        }
        let plans: Vec<Plan> = parts
            .iter_mut()
            .map(|(w, y)| {
                let (chunk, n_tasks) = w.split(pool.threads(), m);
                let k = act_slot(w.qtype.act_type());
                let packed: &[u8] = if packed[k] { &bufs.packed[k] } else { &[] };
                Plan { w, acts: bufs.acts[k].bytes(), packed, y: SyncPtr(y.as_mut_ptr()), chunk, n_tasks }
            })
            .collect();
        let total: usize = plans.iter().map(|p| p.n_tasks).sum();
        let task = |mut t: usize| {
            for p in &plans {
                if t < p.n_tasks {
                    let r0 = t * p.chunk;
                    p.w.run_rows(p.acts, p.packed, m, p.y, r0, (r0 + p.chunk).min(p.w.rows));
                    return;
                }
                t -= p.n_tasks;
            }
        };
        pool.parallel_for(total, &task);
        drop(plans);
        SCRATCH.with(|s| *s.borrow_mut() = bufs);
    }

    fn quantize_acts(&self, pool: &ThreadPool, x: &[f32], m: usize, acts: &mut ActBuf) {
        let rb = ActBuf::row_bytes(self.qtype, self.cols);
        acts.resize(rb * m);
        let out = SyncPtr(acts.bytes_mut().as_mut_ptr());
        let cols = self.cols;
        let qtype = self.qtype;
        let quant = move |i: usize| {
            // SAFETY: row i's slice is disjoint from every other task's.
            let o = unsafe { core::slice::from_raw_parts_mut(out.get().add(i * rb), rb) };
            acts::quantize_row_into(qtype, &x[i * cols..(i + 1) * cols], o);
        };
        if m >= 4 {
            pool.parallel_for(m, &quant);
        } else {
            (0..m).for_each(quant);
        }
    }

    /// Rows per task and task count for an m-row product on `threads` threads.
    fn split(&self, threads: usize, m: usize) -> (usize, usize) {
        let per_task = (MIN_TASK_BYTES / (self.row_bytes * m)).max(1);
        let n_tasks = (self.rows / per_task).clamp(1, threads * 8);
        // Chunks start at multiples of 4 so that 2-row tiles and 4-row groups
        // never straddle two tasks: a row is then computed by the same kernel
        // whatever the thread count, and results do not depend on it.
        let chunk = self.rows.div_ceil(n_tasks).next_multiple_of(4);
        (chunk, self.rows.div_ceil(chunk))
    }

    /// Output rows r0..r1 of all m activation rows.
    fn run_rows(&self, acts: &[u8], packed: &[u8], m: usize, yp: SyncPtr<f32>, r0: usize, r1: usize) {
        let w = self.bytes();
        let (rows, wrb) = (self.rows, self.row_bytes);
        let arb = ActBuf::row_bytes(self.qtype, self.cols);
        let nb = self.cols / self.qtype.block_len();
        let (dot, tile) = (self.dot, self.tile);
        let wp = |r: usize| unsafe { w.as_ptr().add(r * wrb) };
        let ap = |i: usize| unsafe { acts.as_ptr().add(i * arb) };
        // SAFETY (all writes): rows r0..r1 of each output row belong to this task only;
        // w/acts hold rows × nb weight blocks and m × nb activation blocks.
        let put = |i: usize, r: usize, v: f32| unsafe { *yp.get().add(i * rows + r) = v };
        let mut r = r0;
        if let (Some((t44, _)), true) = (self.tile4x4, m >= 4 && !packed.is_empty()) {
            let pbb = acts::pack4_block_bytes(self.qtype.act_type());
            debug_assert_eq!(packed.len(), m / 4 * nb * pbb);
            let group = |g: usize| unsafe { packed.as_ptr().add(g * nb * pbb) };
            // Four weight rows against four tokens at a time; the four rows
            // stay in L1 while the tokens pass. Tokens left over (m % 4) take
            // the four-row GEMV, rows left over (at the matrix's end) the kernels below.
            while r + 4 <= r1 {
                let mut i = 0;
                while i + 4 <= m {
                    let v = unsafe { t44(nb, wp(r), wrb, group(i / 4)) };
                    for (k, &vk) in v.iter().enumerate() {
                        put(i + k % 4, r + k / 4, vk);
                    }
                    i += 4;
                }
                for i in i..m {
                    match self.rows4 {
                        Some(rows4) => {
                            let v = unsafe { rows4(nb, wp(r), wrb, ap(i)) };
                            for (k, &vk) in v.iter().enumerate() {
                                put(i, r + k, vk);
                            }
                        }
                        None => (0..4).for_each(|k| put(i, r + k, unsafe { dot(nb, wp(r + k), ap(i)) })),
                    }
                }
                r += 4;
            }
        }
        if let (Some(tile4), true) = (self.tile4, m >= 4) {
            // Blocks of weight rows small enough to stay in L1 while every
            // group of four activation rows passes over them: looping all
            // activations per weight row streamed them from L2 each time.
            let per_block = (TILE_WEIGHT_BYTES / wrb).max(1);
            let mut b0 = r;
            while b0 < r1 {
                let b1 = (b0 + per_block).min(r1);
                let mut i = 0;
                while i + 4 <= m {
                    for r in b0..b1 {
                        let v = unsafe { tile4(nb, wp(r), ap(i), arb) };
                        for (k, &vk) in v.iter().enumerate() {
                            put(i + k, r, vk);
                        }
                    }
                    i += 4;
                }
                for i in i..m {
                    for r in b0..b1 {
                        put(i, r, unsafe { dot(nb, wp(r), ap(i)) });
                    }
                }
                b0 = b1;
            }
            return;
        }
        if let (Some(tile), true) = (tile, m >= 2) {
            while r + 2 <= r1 {
                let mut i = 0;
                while i + 2 <= m {
                    let v = unsafe { tile(nb, wp(r), wp(r + 1), ap(i), ap(i + 1)) };
                    put(i, r, v[0]);
                    put(i + 1, r, v[1]);
                    put(i, r + 1, v[2]);
                    put(i + 1, r + 1, v[3]);
                    i += 2;
                }
                if i < m {
                    put(i, r, unsafe { dot(nb, wp(r), ap(i)) });
                    put(i, r + 1, unsafe { dot(nb, wp(r + 1), ap(i)) });
                }
                r += 2;
            }
        }
        if let Some(rows4) = self.rows4 {
            // Four weight rows per activation load (decode, and prefill where
            // there are no tiles); the four rows stay in L1 across the m rows.
            while r + 4 <= r1 {
                for i in 0..m {
                    let v = unsafe { rows4(nb, wp(r), wrb, ap(i)) };
                    for (k, &vk) in v.iter().enumerate() {
                        put(i, r + k, vk);
                    }
                }
                r += 4;
            }
        }
        for r in r..r1 {
            for i in 0..m {
                put(i, r, unsafe { dot(nb, wp(r), ap(i)) });
            }
        }
    }

    /// Dequantizes one row (embedding lookup); `out.len()` must equal `cols`.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        assert!(row < self.rows, "dequantize_row: row {row} of {}", self.rows);
        assert_eq!(out.len(), self.cols, "dequantize_row: output length");
        let w = &self.bytes()[row * self.row_bytes..(row + 1) * self.row_bytes];
        crate::reference::dequantize_bytes(self.qtype, w, out);
    }
}
