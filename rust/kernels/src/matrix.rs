//! `QMatrix`: a quantized weight matrix borrowed from a (usually memory-mapped) buffer.

use crate::acts::{self, ActBuf};
use crate::dispatch::{self, TileFn};
use crate::{DotFn, Isa, KernelError, QuantType, ThreadPool};
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
    // Quantized activations of the calling thread; grows to the largest
    // m × cols seen and is then reused, so steady-state calls do not allocate.
    static SCRATCH: RefCell<ActBuf> = RefCell::new(ActBuf::new());
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
        Ok(())
    }

    /// The ggml bytes of all rows.
    pub fn bytes(&self) -> &[u8] {
        &(*self.data).as_ref()[self.offset..self.offset + self.rows * self.row_bytes]
    }

    /// y (m × rows) = x (m × cols) · Wᵀ.
    pub fn matmul(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        assert!(x.len() >= m * self.cols, "matmul: x has {} values, need {}", x.len(), m * self.cols);
        assert!(y.len() >= m * self.rows, "matmul: y has {} values, need {}", y.len(), m * self.rows);
        if m == 0 {
            return;
        }
        let mut acts = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        self.quantize_acts(pool, &x[..m * self.cols], m, &mut acts);
        self.run(pool, acts.bytes(), m, y);
        SCRATCH.with(|s| *s.borrow_mut() = acts);
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

    fn run(&self, pool: &ThreadPool, acts: &[u8], m: usize, y: &mut [f32]) {
        let w = self.bytes();
        let (rows, wrb) = (self.rows, self.row_bytes);
        let arb = ActBuf::row_bytes(self.qtype, self.cols);
        let nb = self.cols / self.qtype.block_len();
        let threads = pool.threads();
        let per_task = (MIN_TASK_BYTES / (wrb * m)).max(1);
        let n_tasks = (rows / per_task).clamp(1, threads * 8);
        // Even chunk so that a 2-row tile never straddles two tasks.
        let chunk = rows.div_ceil(n_tasks).next_multiple_of(2);
        let n_tasks = rows.div_ceil(chunk);
        let yp = SyncPtr(y.as_mut_ptr());
        let (dot, tile) = (self.dot, self.tile);
        let task = |t: usize| {
            let r0 = t * chunk;
            let r1 = (r0 + chunk).min(rows);
            let wp = |r: usize| unsafe { w.as_ptr().add(r * wrb) };
            let ap = |i: usize| unsafe { acts.as_ptr().add(i * arb) };
            // SAFETY (all writes): rows r0..r1 of each output row belong to this task only;
            // w/acts hold rows × nb weight blocks and m × nb activation blocks.
            let put = |i: usize, r: usize, v: f32| unsafe { *yp.get().add(i * rows + r) = v };
            let mut r = r0;
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
            for r in r..r1 {
                for i in 0..m {
                    put(i, r, unsafe { dot(nb, wp(r), ap(i)) });
                }
            }
        };
        pool.parallel_for(n_tasks, &task);
    }

    /// Dequantizes one row (embedding lookup); `out.len()` must equal `cols`.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        assert!(row < self.rows, "dequantize_row: row {row} of {}", self.rows);
        assert_eq!(out.len(), self.cols, "dequantize_row: output length");
        let w = &self.bytes()[row * self.row_bytes..(row + 1) * self.row_bytes];
        crate::reference::dequantize_bytes(self.qtype, w, out);
    }
}
