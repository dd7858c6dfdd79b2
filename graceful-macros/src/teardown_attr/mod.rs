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
use crate::valid;

/// The entry point: never fails, always returns the item plus any errors.
pub(crate) fn teardown(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => return fallback::with_error(item, &check::not_a_function()),
    };
    match try_expand(args, &function) {
        Ok(tokens) => tokens,
        // The function stays as written: it may be called elsewhere.
        Err(error) => fallback::with_error(item, &error),
    }
}

/// Parses and checks everything, reporting all independent problems together, then
/// expands.
pub(crate) fn try_expand(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let hook = match args::parse(&check::SPEC, args, &mut errors) {
        Ok(raw) => check::hook(&raw, &mut errors),
        Err(error) => {
            errors.push(error);
            check::Hook::default()
        }
    };
    let parameters = check::signature(&function.sig, &mut errors);
    valid::check_stacked(
        &function.attrs,
        hook.crate_path.as_ref(),
        &mut errors,
        check::stacked,
    );
    errors.finish()?;
    Ok(expand::generate(&hook, function, &parameters))
}
