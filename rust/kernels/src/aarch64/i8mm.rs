//! Armv8.6 i8mm (`smmla`) 2×2 tiles for the prefill GEMM: two weight rows
//! against two activation rows, so each unpacked weight block feeds two
//! tokens. One instantiation of [`rows::tile2x2`] per 32-element format.

use super::rows;

macro_rules! i8mm_tiles {
    ($($name:ident => $fmt:ident),*) => {$(
        /// # Safety
        /// The CPU must support i8mm; `w0`/`w1` hold `nb` weight blocks, `a0`/`a1`
        /// `nb` matching activation blocks with their scale appendix.
        #[target_feature(enable = "neon,i8mm")]
        pub unsafe fn $name(nb: usize, w0: *const u8, w1: *const u8, a0: *const u8, a1: *const u8) -> [f32; 4] {
            rows::tile2x2::<rows::$fmt>(nb, w0, w1, a0, a1)
        }
    )*};
}

i8mm_tiles!(
    tile_q4_0 => Q4_0,
    tile_q4_1 => Q4_1,
    tile_q5_0 => Q5_0,
    tile_q5_1 => Q5_1,
    tile_q8_0 => Q8_0,
    tile_iq4nl => IQ4NL
);
