//! `#[graceful::main]`: from the attribute's tokens to the expansion, in three stages.
//!
//! 1. [`args::parse`] reads the arguments as written, with their spans (shared with
//!    `#[graceful::teardown]`);
//! 2. [`check`] turns them into a typed `Config` and checks the function;
//! 3. [`expand`] writes the call into the runtime.
//!
//! Stages 1 and 2 report every independent problem at once. A misuse expands to the stand-in
//! of [`fallback::main`] and the errors, and nothing else, so the user sees exactly those.

mod check;
mod expand;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;
use syn::ItemFn;

use crate::args;
use crate::errors::Errors;
use crate::fallback;

/// The entry point: never fails, always returns the item (or a stand-in) plus any errors.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    fallback::expand_or_fall_back(
        item,
        check::not_a_function,
        |function| try_expand(args, function),
        |function, _| fallback::main(function),
    )
}

/// Stage 1, 2, 3: parses and checks everything, reporting all independent problems
/// together, then expands.
pub(crate) fn try_expand(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    // Broken syntax leaves no arguments: the defaults stand in, so that the function is
    // still checked.
    let config = args::parse(&check::SPEC, args, &mut errors)
        .map(|raw| check::config(&raw, &mut errors))
        .unwrap_or_default();
    check::function(function, config.crate_path.as_ref(), &mut errors);
    errors.finish()?;
    Ok(expand::generate(&config, function))
}
