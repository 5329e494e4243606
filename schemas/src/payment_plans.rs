//! Payment plans (filled in below).
