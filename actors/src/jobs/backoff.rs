//! How long a failed job waits before its next attempt: exponential backoff with full jitter
//! (a uniformly random wait between zero and `min(cap, base × 2^(attempt − 1))`), so jobs
//! that failed together (a provider outage) do not retry together.

use std::time::Duration;

/// The ceiling of the wait after attempt `attempt` (1-based): `min(cap, base × 2^(attempt−1))`.
pub fn ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(40);
    base.checked_mul(1u32.checked_shl(shift.min(31)).unwrap_or(u32::MAX)).unwrap_or(cap).min(cap)
}

/// The wait after attempt `attempt`, given a uniform random `unit` in `[0, 1)` (the caller
/// draws it, so this stays pure and testable).
pub fn delay(base: Duration, cap: Duration, attempt: u32, unit: f64) -> Duration {
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
    ceiling(base, cap, attempt).mul_f64(unit)
}

/// A uniform random number in `[0, 1)` from the operating system's source.
pub fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    // Without the OS source a retry still happens, just without jitter.
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(30);
    const CAP: Duration = Duration::from_secs(3600);

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        assert_eq!(ceiling(BASE, CAP, 1), Duration::from_secs(30));
        assert_eq!(ceiling(BASE, CAP, 2), Duration::from_secs(60));
        assert_eq!(ceiling(BASE, CAP, 7), Duration::from_secs(1920));
        assert_eq!(ceiling(BASE, CAP, 8), CAP);
        assert_eq!(ceiling(BASE, CAP, 1000), CAP, "no overflow for absurd attempt numbers");
        assert_eq!(ceiling(BASE, CAP, 0), BASE);
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_ceiling() {
        assert_eq!(delay(BASE, CAP, 3, 0.0), Duration::ZERO);
        assert_eq!(delay(BASE, CAP, 3, 0.5), Duration::from_secs(60));
        assert!(delay(BASE, CAP, 3, 0.999_999) < Duration::from_secs(120));
        assert_eq!(delay(BASE, CAP, 3, f64::NAN), Duration::ZERO);
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..2000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
            let d = delay(BASE, CAP, 20, u);
            assert!(d <= CAP);
            seen_low |= d < CAP / 4;
            seen_high |= d > CAP * 3 / 4;
        }
        assert!(seen_low && seen_high, "the jitter spreads over the whole range");
    }
}
