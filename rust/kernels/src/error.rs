use crate::QuantType;

/// Construction-time errors; the hot paths assert their preconditions instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// `cols` is not a multiple of the type's block length.
    BadShape { qtype: QuantType, rows: usize, cols: usize },
    /// `offset + rows · row_bytes` does not fit in the backing buffer (or overflows).
    OutOfBounds { offset: usize, needed: usize, available: usize },
    /// The requested ISA is not available on this CPU.
    UnsupportedIsa(crate::Isa),
}

impl core::fmt::Display for KernelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KernelError::BadShape { qtype, rows, cols } => write!(
                f,
                "{rows}x{cols} {qtype:?} matrix: cols must be a non-zero multiple of {}",
                qtype.block_len()
            ),
            KernelError::OutOfBounds { offset, needed, available } => write!(
                f,
                "tensor at offset {offset} needs {needed} bytes but the buffer holds {available}"
            ),
            KernelError::UnsupportedIsa(isa) => write!(f, "ISA {isa:?} is not supported by this CPU"),
        }
    }
}

impl std::error::Error for KernelError {}
