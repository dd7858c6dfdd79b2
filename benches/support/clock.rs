//! One clock that the benchmark and the programs it starts can compare: `CLOCK_MONOTONIC`
//! in nanoseconds, the same for every process on the machine.
//!
//! Shared by the benchmarks and the subject programs (`#[path]`), so that a subject can say
//! when an operation started and the benchmark can set that against when it sent a signal.

/// Nanoseconds on the system's monotonic clock.
#[allow(unsafe_code)]
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
