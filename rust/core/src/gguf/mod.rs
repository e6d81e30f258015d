//! GGUF files, read from a memory map and validated before anything uses them.
//!
//! The parser treats the file as hostile: every count, length, dimension and
//! offset is checked against the mapped size with overflow-checked arithmetic,
//! so a corrupt or malicious file yields a [`GgufError`], never a panic or an
//! oversized allocation.

mod dtype;
mod reader;
mod value;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

pub use dtype::GgmlType;
pub use value::{Array, Strings, Value};
pub use writer::{header, write, TensorHeader};

use reader::Reader;

use crate::error::Error;

const MAGIC: &[u8; 4] = b"GGUF";
const MAX_DIMS: usize = 4;
const DEFAULT_ALIGNMENT: u64 = 32;
/// Real files hold a few dozen keys and at most a few thousand tensors; each
/// costs a fixed in-memory entry, so these counts bound the parse's memory
/// where the file's size alone would allow millions.
const MAX_METADATA_KEYS: usize = 1 << 16;
const MAX_TENSORS: usize = 1 << 16;

/// Detailed parse failures; they reach callers as [`Error::InvalidModel`] or
/// [`Error::UnsupportedModel`].
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("not a GGUF file (magic {0:02x?})")]
    NotGguf([u8; 4]),
    #[error("unsupported GGUF version {0}")]
    Version(u32),
    #[error("file truncated while reading {what} at offset {offset}")]
    Truncated { what: String, offset: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error("tensor {name}: unsupported tensor type id {id}")]
    UnsupportedType { name: String, id: u32 },
}

impl From<GgufError> for Error {
    fn from(e: GgufError) -> Self {
        match e {
            GgufError::UnsupportedType { .. } | GgufError::Version(_) => {
                Error::UnsupportedModel(e.to_string())
            }
            _ => Error::InvalidModel(e.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the contiguous (row) dimension.
    pub dims: Vec<usize>,
    pub dtype: GgmlType,
    /// Offset from the start of the file, already validated.
    pub offset: usize,
    pub size: usize,
}

impl TensorInfo {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The bytes behind the tensors. Kept behind an `Arc` so weight views can
/// outlive the parse and so dropping every holder unmaps the file.
pub enum Backing {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for Backing {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::ops::Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

pub struct GgufFile {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    /// Metadata keys in file order (`metadata` is sorted), so a tool that
    /// rewrites the file (`mote quantize`) keeps llama.cpp's key order.
    key_order: Vec<String>,
    by_name: HashMap<String, usize>,
    data: Arc<Backing>,
}

impl GgufFile {
    /// Maps and validates a GGUF file.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let unreadable = |source| Error::ModelUnreadable { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(Error::InvalidModel(format!("{} is not a regular file", path.display())));
        }
        if meta.len() < 4 {
            return Err(GgufError::Truncated { what: "magic".into(), offset: 0 }.into());
        }
        // SAFETY: the map is read-only; a file truncated by another process
        // while mapped is outside what any mmap-based loader can defend against.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(unreadable)?;
        Ok(Self::parse(Backing::Mapped(map))?)
    }

    /// Maps and validates a GGUF stored at `offset .. offset + len` inside a
    /// larger file, in place: an uncompressed asset in an Android APK (the
    /// `AssetFileDescriptor`'s start offset and length, with the APK's path or
    /// `/proc/self/fd/N`). The weights are memory-mapped from the APK like a
    /// file of their own, with no copy. Tensors keep their in-file alignment
    /// in memory only if `offset` is a multiple of 32 (store the asset
    /// uncompressed, 32-byte or page aligned: `zipalign -p`), so any other
    /// offset is refused.
    pub fn open_range(path: &Path, offset: u64, len: u64) -> Result<Self, Error> {
        let unreadable = |source| Error::ModelUnreadable { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        let end = offset.checked_add(len);
        if end.is_none_or(|e| e > size) {
            return Err(Error::InvalidModel(format!(
                "range {offset}+{len} lies outside {} ({size} bytes)",
                path.display()
            )));
        }
        if offset % 32 != 0 {
            return Err(Error::InvalidModel(format!(
                "the model at offset {offset} of {} is not 32-byte aligned: store it uncompressed and aligned (zipalign -p)",
                path.display()
            )));
        }
        if len < 4 {
            return Err(GgufError::Truncated { what: "magic".into(), offset: 0 }.into());
        }
        let len = usize::try_from(len).map_err(|_| Error::InvalidModel("range too large for this platform".into()))?;
        // SAFETY: as in `open`; the map covers only the given range.
        let map = unsafe { memmap2::MmapOptions::new().offset(offset).len(len).map(&file) }.map_err(unreadable)?;
        Ok(Self::parse(Backing::Mapped(map))?)
    }

    /// `open`, or `open_range` when a byte range is given.
    pub fn open_at(path: &Path, range: Option<(u64, u64)>) -> Result<Self, Error> {
        match range {
            Some((offset, len)) => Self::open_range(path, offset, len),
            None => Self::open(path),
        }
    }

    /// Validates GGUF bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Error> {
        Ok(Self::parse(Backing::Owned(bytes))?)
    }

    fn parse(backing: Backing) -> Result<Self, GgufError> {
        let buf: &[u8] = &backing;
        let mut r = Reader::new(buf);
        let magic: [u8; 4] = r.bytes(4, "magic")?.try_into().expect("4 bytes");
        if &magic != MAGIC {
            return Err(GgufError::NotGguf(magic));
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::Version(version));
        }
        // Each tensor info takes at least 8 (name len) + 4 + 8 + 4 + 8 bytes, each kv 8 + 4 + 1.
        let n_tensors = r.count(32, "tensor count")?;
        let n_kv = r.count(13, "metadata count")?;
        if n_tensors > MAX_TENSORS || n_kv > MAX_METADATA_KEYS {
            return Err(GgufError::Invalid(format!(
                "{n_tensors} tensors and {n_kv} metadata keys (at most {MAX_TENSORS} and {MAX_METADATA_KEYS})"
            )));
        }

        let mut metadata = BTreeMap::new();
        let mut key_order = Vec::with_capacity(n_kv);
        for _ in 0..n_kv {
            let key = r.string("metadata key")?;
            let ty = r.u32("metadata type")?;
            let value = r.value(ty, 0)?;
            if metadata.insert(key.clone(), value).is_some() {
                return Err(GgufError::Invalid(format!("duplicate metadata key {key}")));
            }
            key_order.push(key);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a.is_power_of_two() && a <= 1 << 16 => a,
                _ => return Err(GgufError::Invalid(format!("bad general.alignment {v:?}"))),
            },
        };

        let mut raw = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = r.string("tensor name")?;
            let n_dims = r.u32("tensor rank")? as usize;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(GgufError::Invalid(format!("tensor {name}: rank {n_dims}")));
            }
            let mut dims = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                dims.push(r.u64("tensor dimension")?);
            }
            let type_id = r.u32("tensor type")?;
            let offset = r.u64("tensor offset")?;
            raw.push((name, dims, type_id, offset));
        }

        // A vocabulary-only file has no tensors and may end unpadded right
        // after its metadata (llama.cpp's own ggml-vocab-*.gguf do).
        let data_start = align_up(r.pos() as u64, alignment)
            .map(|s| if raw.is_empty() { s.min(buf.len() as u64) } else { s })
            .filter(|&s| s <= buf.len() as u64)
            .ok_or_else(|| GgufError::Truncated {
                what: "tensor data".into(),
                offset: r.pos() as u64,
            })?;
        let data_len = buf.len() as u64 - data_start;

        let mut tensors = Vec::with_capacity(raw.len());
        let mut by_name = HashMap::with_capacity(raw.len());
        for (name, dims, type_id, offset) in raw {
            let dtype = GgmlType::from_id(type_id)
                .ok_or_else(|| GgufError::UnsupportedType { name: name.clone(), id: type_id })?;
            let bad = |why: String| GgufError::Invalid(format!("tensor {name}: {why}"));
            let mut elements: u64 = 1;
            for &d in &dims {
                if d == 0 {
                    return Err(bad(format!("zero dimension in {dims:?}")));
                }
                elements = elements
                    .checked_mul(d)
                    .filter(|&e| e <= data_len.saturating_mul(8))
                    .ok_or_else(|| bad(format!("dimensions {dims:?} are absurd for this file")))?;
            }
            let row_len = usize::try_from(dims[0]).map_err(|_| bad("row too long".into()))?;
            let row_bytes = dtype.row_bytes(row_len).ok_or_else(|| {
                bad(format!("row of {row_len} is not a multiple of {}'s block of {}", dtype, dtype.block_len()))
            })? as u64;
            let size = row_bytes
                .checked_mul(elements / dims[0])
                .ok_or_else(|| bad("size overflows".into()))?;
            if offset % alignment != 0 {
                return Err(bad(format!("offset {offset} is not aligned to {alignment}")));
            }
            let end = offset.checked_add(size).filter(|&e| e <= data_len).ok_or_else(|| {
                bad(format!("data [{offset}, +{size}) runs past the end of the file ({data_len} data bytes)"))
            })?;
            let _ = end;
            // general.alignment may be as small as 1: data that lands unaligned
            // for its type would be read through misaligned references.
            // Checked on the address: a map is page-aligned, bytes handed to
            // `from_bytes` need not be.
            let at = data_start + offset;
            if (buf.as_ptr() as u64).wrapping_add(at) % dtype.align() as u64 != 0 {
                return Err(bad(format!(
                    "{dtype} data at file offset {at} is not {}-byte aligned (general.alignment = {alignment})",
                    dtype.align()
                )));
            }
            if by_name.insert(name.clone(), tensors.len()).is_some() {
                return Err(bad("duplicate tensor name".into()));
            }
            tensors.push(TensorInfo {
                name,
                dims: dims.iter().map(|&d| d as usize).collect(),
                dtype,
                offset: (data_start + offset) as usize,
                size: size as usize,
            });
        }

        Ok(Self { version, metadata, tensors, key_order, by_name, data: Arc::new(backing) })
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    /// The validated bytes of a tensor.
    pub fn tensor_data(&self, t: &TensorInfo) -> &[u8] {
        &self.data[t.offset..t.offset + t.size]
    }

    /// The shared backing, for weight views that must keep the map alive.
    pub fn backing(&self) -> &Arc<Backing> {
        &self.data
    }

    /// Metadata in the order the file lists it.
    pub fn metadata_in_order(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.key_order.iter().filter_map(|k| self.metadata.get(k).map(|v| (k.as_str(), v)))
    }

    /// The data alignment: `general.alignment`, or GGUF's default of 32.
    pub fn alignment(&self) -> u64 {
        self.get_u64("general.alignment").unwrap_or(DEFAULT_ALIGNMENT)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    pub fn architecture(&self) -> Result<&str, Error> {
        self.get_str("general.architecture")
            .ok_or_else(|| Error::InvalidModel("general.architecture is missing".into()))
    }

    pub fn file_size(&self) -> usize {
        self.data.len()
    }
}

fn align_up(x: u64, a: u64) -> Option<u64> {
    x.checked_add(a - 1).map(|v| v / a * a)
}

#[cfg(test)]
mod tests;
