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
use crate::valid;

/// The entry point: never fails, always returns the item (or a stand-in) plus any errors.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => return fallback::with_error(item, &check::not_a_function()),
    };
    match try_expand(args, &function) {
        Ok(tokens) => tokens,
        Err(error) => fallback::with_error(fallback::main(&function), &error),
    }
}

/// Parses and checks everything, reporting all independent problems together, then
/// expands.
pub(crate) fn try_expand(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let config = match args::parse(&check::SPEC, args, &mut errors) {
        Ok(raw) => check::config(&raw, &mut errors),
        Err(error) => {
            errors.push(error);
            check::Config::default()
        }
    };
    check::signature(function, &mut errors);
    valid::check_stacked(
        &function.attrs,
        config.crate_path.as_ref(),
        &mut errors,
        check::stacked,
    );
    errors.finish()?;
    Ok(expand::generate(&config, function))
}
