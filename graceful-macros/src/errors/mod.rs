//! The errors the macros report: several at once, each on the token at fault.
//!
//! A misused attribute gets every independent problem in one go, so that the user fixes
//! them all in one edit instead of meeting them one compile at a time. `suggest` finds the
//! nearest valid name for "did you mean" hints.

pub(crate) mod suggest;

/// Accumulates independent errors into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Keeps the value, or records the error and returns `None`.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// "`a`, `b`, `c`".
pub(crate) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
