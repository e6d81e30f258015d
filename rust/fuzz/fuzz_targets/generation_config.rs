//! Generation settings from a caller (an app, the FFI): `validate` must
//! refuse, with `InvalidArgument`, every config the sampler cannot run, so
//! that a config it accepts always samples a token inside the logits, on any
//! logits a model can produce (inf and NaN included), deterministically for
//! a seed, greedily at temperature 0, and it survives a JSON round trip.
//!
//! Input: the config's fields, then logits and recent tokens, drawn with
//! `arbitrary` (see `mote_fuzz::sampling_input`). Floats come from a byte
//! that picks an edge value (0, -0, 1, NaN, ±inf, subnormals, extremes) or
//! raw bits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mote_core::sampling::{argmax, Sampler};
use mote_core::{Error, GenerationConfig};
use mote_fuzz::sampling_input::{case, Case};

fuzz_target!(|data: &[u8]| {
    let Some(Case { cfg, logits, recent }) = case(data) else { return };
    let n = logits.len();
    if let Err(e) = cfg.validate() {
        assert!(matches!(e, Error::InvalidArgument(_)), "refused with {e:?}, not InvalidArgument");
        return;
    }

    let seeded = GenerationConfig { seed: Some(cfg.seed.unwrap_or(0)), ..cfg.clone() };
    let mut a = Sampler::new(&seeded);
    let mut b = Sampler::new(&seeded);
    for round in 0..3 {
        let (mut la, mut lb) = (logits.clone(), logits.clone());
        let (ta, tb) = (a.sample(&mut la, &recent), b.sample(&mut lb, &recent));
        assert!((ta as usize) < n, "{cfg:?} sampled token {ta} of {n} logits {logits:?}");
        assert_eq!(ta, tb, "{seeded:?}: two samplers with one seed disagree in round {round}");
    }
    if cfg.temperature == 0.0 && cfg.repetition_penalty == 1.0 {
        let t = Sampler::new(&cfg).sample(&mut logits.clone(), &recent);
        assert_eq!(t, argmax(&logits), "{cfg:?}: greedy sampling is not the argmax of {logits:?}");
    }

    // The config derives Serialize/Deserialize: a stored accepted one must come back equal and valid.
    let json = serde_json::to_string(&cfg).expect("an accepted config has finite floats");
    let back: GenerationConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not parse back: {e}"));
    assert_eq!(back, cfg, "JSON round trip changed the config: {json}");
    back.validate().expect("a config read back from JSON still validates");
});
