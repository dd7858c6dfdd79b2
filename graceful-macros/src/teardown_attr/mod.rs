//! `#[graceful::teardown]`: from the attribute's tokens to the expansion, in three stages.
//!
//! 1. [`args::parse`] reads the arguments as written, with their spans (shared with
//!    `#[graceful::main]`);
//! 2. [`check`] turns them into a typed `Hook` and checks the function and its parameters;
//! 3. [`expand`] keeps the function and registers it with the runtime.
//!
//! Stages 1 and 2 report every independent problem at once. A misuse keeps the function as
//! written, since it may be called elsewhere, next to the errors.

mod check;
mod expand;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;
use syn::ItemFn;

use crate::args;
use crate::errors::Errors;
use crate::fallback;

/// The entry point: never fails, always returns the item plus any errors.
pub(crate) fn teardown(args: TokenStream, item: TokenStream) -> TokenStream {
    fallback::expand_or_fall_back(
        item,
        check::not_a_function,
        |function| try_expand(args, function),
        // The function stays as written: it may be called elsewhere.
        |_, item| item,
    )
}

/// Stage 1, 2, 3: parses and checks everything, reporting all independent problems
/// together, then expands.
pub(crate) fn try_expand(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    // Broken syntax leaves no arguments: the defaults stand in, so that the function is
    // still checked.
    let hook = args::parse(&check::SPEC, args, &mut errors)
        .map(|raw| check::hook(&raw, &mut errors))
        .unwrap_or_default();
    let parameters = check::function(function, hook.crate_path.as_ref(), &mut errors);
    errors.finish()?;
    Ok(expand::generate(&hook, function, &parameters))
}
