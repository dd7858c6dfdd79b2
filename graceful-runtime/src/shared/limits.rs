//! The default deadline and the longest one, checked by the attribute at compile time and
//! by the runtime when the environment or a builder sets them.

use core::time::Duration;

/// The default shutdown deadline: Kubernetes' default grace period.
pub(crate) const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// The longest duration the shutdown works with: a longer deadline is an error (no
/// orchestrator waits that long, and an instant that far ahead may not exist), and longer
/// timeouts are capped to it.
pub(crate) const LONGEST: Duration = Duration::from_secs(365 * 24 * 3600);
