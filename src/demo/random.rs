//! SplitMix64, the demo's own PRNG, and the draws the generators make with it (uniform,
//! chance, pick, weighted pick). Every demo module draws from it, seeded from [`SEED`], so
//! the demo data is fixed by this code and by nothing else (no other crate's version).

/// Seed of the demo clinic; changing it changes every generated record.
pub const SEED: u64 = 0xC10D_E2C0_2026_CA75;

/// SplitMix64 (Steele, Lea & Flood 2014, constants as published by Vigna): a 64-bit counter
/// stepped by the golden-ratio constant and scrambled by two xor-shift-multiply rounds. Not
/// for secrets; chosen because it is tiny, fast, and its output is fixed forever by this code.
#[derive(Debug, Clone, Default)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-high; the bias is below 2^-40 for the small `n` used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(super) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }

    /// True with probability `per_mille` / 1000.
    pub(super) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// The 80 random bits of a ULID.
    pub(super) fn random80(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 16) | u128::from(self.next_u64() & 0xFFFF)
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub(super) fn text(&mut self, items: &[&str]) -> String {
        (*self.pick(items)).to_owned()
    }

    /// With probability `per_mille` / 1000, one of `items`.
    pub(super) fn maybe(&mut self, per_mille: u64, items: &[&str]) -> Option<String> {
        self.chance(per_mille).then(|| self.text(items))
    }

    pub(super) fn weighted_by<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u64) -> &'a T {
        let mut roll = self.below(items.iter().map(&weight).sum());
        for item in items {
            let w = weight(item);
            if roll < w {
                return item;
            }
            roll -= w;
        }
        items.last().expect("weighted tables in this file are never empty")
    }

    pub(super) fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        &self.weighted_by(items, |(_, w)| *w).0
    }
}
