//! One clock that the benchmark and the programs it starts can compare: `CLOCK_MONOTONIC`
//! in nanoseconds, the same for every process on the machine.
//!
//! Shared by the benchmarks and the subject programs, so that a subject can say when an
//! operation started and the benchmark can set that against when it sent a signal.

/// Nanoseconds on the system's monotonic clock.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Unix only: elsewhere, the program stops with a message.
#[cfg(not(unix))]
pub fn now_ns() -> u64 {
    crate::unix_only("CLOCK_MONOTONIC, the clock that every process shares")
}
