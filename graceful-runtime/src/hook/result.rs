//! What a hook returns: `()` or `Result<(), E: Display>`, made into one [`HookResult`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// What a hook returns, once converted.
pub type HookResult = Result<(), HookError>;

/// The future of an async hook.
pub type BoxHookFuture = Pin<Box<dyn Future<Output = HookResult> + Send + 'static>>;

/// Why a hook failed, as shown in logs and the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookError(String);

impl HookError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        HookError(message.into())
    }

    pub(crate) fn into_message(self) -> String {
        self.0
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The return value of a teardown hook: `()` or `Result<(), E>` with `E: Display`.
#[diagnostic::on_unimplemented(
    message = "a teardown hook must return `()` or `Result<(), E>` where `E: Display`, not `{Self}`",
    label = "unsupported return type"
)]
pub trait IntoHookResult {
    /// The hook's outcome.
    fn into_hook_result(self) -> HookResult;
}

impl IntoHookResult for () {
    fn into_hook_result(self) -> HookResult {
        Ok(())
    }
}

impl<E: fmt::Display> IntoHookResult for Result<(), E> {
    fn into_hook_result(self) -> HookResult {
        // `{:#}` shows the whole chain of an `anyhow::Error`, and is `{}` for the rest.
        self.map_err(|e| HookError(format!("{e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_their_display_text() {
        let r: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
        assert_eq!(
            r.into_hook_result(),
            Err(HookError::new("disk full".to_owned()))
        );
        assert_eq!(().into_hook_result(), Ok(()));
    }
}
