//! `mote quantize`: rewrites a GGUF model with other weight types, producing
//! the same file as llama.cpp's `llama-quantize` (without an importance
//! matrix) byte for byte: same tensor types, same bytes, same metadata and
//! tensor order (see `tests/quantize_llamacpp.rs`).
//!
//! It streams: tensors are read from the memory map and converted a slab of
//! rows at a time, so memory stays at a few megabytes per thread whatever the
//! model's size, and a phone can run it. The output is written to
//! `<out>.partial` and renamed only when complete, so a full disk or a
//! cancellation never leaves a truncated model under the final name.

mod recipe;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mote_kernels::{quantize as kq, reference};

pub use recipe::{recipe, Recipe, Role, RECIPES};

use crate::generate::CancelToken;
use crate::gguf::{self, GgmlType, GgufFile, TensorHeader, Value};
use crate::model::linear::kernel_type;
use crate::{Error, Result};

/// f32 values converted per slab and thread: 1 MiB of input rows.
const SLAB_VALUES: usize = 1 << 18;

#[derive(Default)]
pub struct QuantizeOptions {
    /// Worker threads (0: the machine's parallelism). The bytes don't depend on it.
    pub threads: usize,
    pub cancel: Option<CancelToken>,
}

/// What happened to one tensor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TensorReport {
    pub name: String,
    /// ggml type names (`Q4_K`).
    pub from: String,
    pub to: String,
    pub elements: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct QuantizeReport {
    pub recipe: String,
    pub tensors: Vec<TensorReport>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Bits per weight over all tensors (what llama.cpp prints as BPW).
    pub bits_per_weight: f64,
    /// Tensors converted from an already quantized type: their error adds to
    /// the source's, which a study must say (Gemma 3 270M ships no F16).
    pub requantized: usize,
}

/// Quantizes the model at `input` into `output` with `recipe`.
/// `progress(done, total, name)` is called before each tensor.
pub fn quantize_file(
    input: &Path,
    output: &Path,
    recipe: &Recipe,
    options: &QuantizeOptions,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<QuantizeReport> {
    let src = GgufFile::open(input)?;
    let plan = plan(&src, recipe)?;
    let partial = partial_path(output);
    let result = write_model(&src, &plan, recipe, &partial, options, progress);
    match result {
        Ok(report) => {
            std::fs::rename(&partial, output)
                .map_err(|e| Error::Storage(format!("renaming {} to {}: {e}", partial.display(), output.display())))?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

struct Planned<'a> {
    info: &'a gguf::TensorInfo,
    to: GgmlType,
    bytes: usize,
}

/// Every tensor in llama.cpp's output order with its type.
fn plan<'a>(src: &'a GgufFile, recipe: &Recipe) -> Result<Vec<Planned<'a>>> {
    let arch = src.architecture()?;
    if arch == "falcon" && recipe.rules.is_some() {
        return Err(Error::UnsupportedModel("llama.cpp's mixes treat Falcon specially; use a pure type".into()));
    }
    let layers = src.get_u64(&format!("{arch}.block_count")).unwrap_or(0) as usize;
    let experts = src.get_u64(&format!("{arch}.expert_count")).unwrap_or(0) as usize;
    let mut sorted: Vec<&gguf::TensorInfo> = src.tensors.iter().collect();
    sorted.sort_by(|a, b| recipe::llama_order(&a.name, &b.name));
    let mut planner = recipe::Planner::new(recipe, sorted.iter().map(|t| t.name.as_str()), layers, experts);
    sorted
        .into_iter()
        .map(|info| {
            // Every type Mote reads dequantizes to f32 (F32/F16/BF16 directly,
            // the rest through the kernels), so any source can be converted.
            let to = planner.choose(&info.name, &info.dims).unwrap_or(info.dtype);
            let bytes = if to == info.dtype {
                info.size
            } else {
                to.row_bytes(info.dims[0]).ok_or_else(|| Error::InvalidModel(format!("{}: bad row", info.name)))?
                    * (info.elements() / info.dims[0])
            };
            Ok(Planned { info, to, bytes })
        })
        .collect()
}

/// The metadata llama.cpp writes: every key in file order but the split
/// keys and the two in `set`, which go last (it removes and re-adds them).
/// Borrowed, so the vocabulary arrays are not copied.
fn metadata<'a>(src: &'a GgufFile, set: &'a [(&'static str, Value); 2]) -> Vec<(&'a str, &'a Value)> {
    const SPLIT: [&str; 3] = ["split.no", "split.count", "split.tensors.count"];
    let mut out: Vec<(&str, &Value)> = src
        .metadata_in_order()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && !SPLIT.contains(k))
        .collect();
    out.extend(set.iter().map(|(k, v)| (*k, v)));
    out
}

fn write_model(
    src: &GgufFile,
    plan: &[Planned],
    recipe: &Recipe,
    path: &Path,
    options: &QuantizeOptions,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<QuantizeReport> {
    let storage = |e: std::io::Error| Error::Storage(format!("writing {}: {e}", path.display()));
    let align = src.alignment() as usize;
    let set = [("general.quantization_version", Value::U32(2)), ("general.file_type", Value::U32(recipe.file_type))];
    let meta = metadata(src, &set);
    let dims: Vec<Vec<usize>> = plan.iter().map(|p| p.info.dims[..recipe::rank(&p.info.dims)].to_vec()).collect();
    let headers: Vec<TensorHeader> = plan
        .iter()
        .zip(&dims)
        .map(|(p, d)| TensorHeader { name: &p.info.name, dims: d, type_id: p.to.id(), bytes: p.bytes })
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(storage)?);
    let head = gguf::header(&meta, &headers, align);
    out.write_all(&head).map_err(storage)?;
    let mut written = head.len() as u64;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut report = Vec::with_capacity(plan.len());
    let mut requantized = 0;
    for (i, p) in plan.iter().enumerate() {
        if options.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled);
        }
        progress(i, plan.len(), &p.info.name);
        let data = src.tensor_data(p.info);
        if p.to == p.info.dtype {
            out.write_all(data).map_err(storage)?;
        } else {
            requantized += usize::from(p.info.dtype.is_quantized());
            convert(data, p, threads, options.cancel.as_ref(), &mut |bytes| out.write_all(bytes).map_err(storage))?;
        }
        let pad = p.bytes.div_ceil(align) * align - p.bytes;
        out.write_all(&vec![0u8; pad]).map_err(storage)?;
        written += (p.bytes + pad) as u64;
        report.push(TensorReport {
            name: p.info.name.clone(),
            from: p.info.dtype.name().into(),
            to: p.to.name().into(),
            elements: p.info.elements() as u64,
            bytes: p.bytes as u64,
        });
    }
    out.flush().map_err(storage)?;
    out.get_ref().sync_all().map_err(storage)?;
    let elements: u64 = report.iter().map(|t| t.elements).sum();
    let data_bytes: u64 = report.iter().map(|t| t.bytes).sum();
    Ok(QuantizeReport {
        recipe: recipe.name.into(),
        tensors: report,
        bytes_in: src.file_size() as u64,
        bytes_out: written,
        bits_per_weight: if elements > 0 { data_bytes as f64 * 8.0 / elements as f64 } else { 0.0 },
        requantized,
    })
}

/// Converts one tensor slab by slab, the slab's rows split across threads.
fn convert(
    data: &[u8],
    p: &Planned,
    threads: usize,
    cancel: Option<&CancelToken>,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let cols = p.info.dims[0];
    let rows = p.info.elements() / cols;
    let (in_row, out_row) = (p.info.size / rows, p.bytes / rows);
    let rows_per_worker = (SLAB_VALUES / cols).max(1);
    let slab_rows = rows_per_worker * threads;
    let mut out = vec![0u8; slab_rows.min(rows) * out_row];
    for first in (0..rows).step_by(slab_rows) {
        if cancel.is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled);
        }
        let n = slab_rows.min(rows - first);
        let input = &data[first * in_row..(first + n) * in_row];
        let output = &mut out[..n * out_row];
        std::thread::scope(|s| {
            for (inp, outp) in input.chunks(rows_per_worker * in_row).zip(output.chunks_mut(rows_per_worker * out_row)) {
                s.spawn(move || convert_rows(inp, outp, p.info.dtype, p.to, cols));
            }
        });
        sink(output)?;
    }
    Ok(())
}

fn convert_rows(input: &[u8], output: &mut [u8], from: GgmlType, to: GgmlType, cols: usize) {
    let n_rows = output.len() / to.row_bytes(cols).expect("planned");
    let (in_row, out_row) = (input.len() / n_rows, output.len() / n_rows);
    let mut x = vec![0f32; cols];
    for r in 0..n_rows {
        let src = &input[r * in_row..(r + 1) * in_row];
        match from {
            GgmlType::F32 => {
                for (v, b) in x.iter_mut().zip(src.chunks_exact(4)) {
                    *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            GgmlType::F16 => {
                for (v, b) in x.iter_mut().zip(src.chunks_exact(2)) {
                    *v = mote_kernels::blocks::f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                }
            }
            GgmlType::BF16 => {
                for (v, b) in x.iter_mut().zip(src.chunks_exact(2)) {
                    *v = mote_kernels::blocks::bf16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                }
            }
            other => reference::dequantize_bytes(kernel_type(other).expect("every quantized type has a kernel type"), src, &mut x),
        }
        let dst = &mut output[r * out_row..(r + 1) * out_row];
        match to {
            GgmlType::F32 => {
                for (b, v) in dst.chunks_exact_mut(4).zip(&x) {
                    b.copy_from_slice(&v.to_le_bytes());
                }
            }
            GgmlType::F16 => {
                for (b, v) in dst.chunks_exact_mut(2).zip(&x) {
                    b.copy_from_slice(&mote_kernels::blocks::f32_to_f16_bytes(*v));
                }
            }
            other => kq::quantize_row(kernel_type(other).expect("a quantizable type"), &x, dst),
        }
    }
}
