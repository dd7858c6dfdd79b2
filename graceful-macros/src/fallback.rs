//! What a misused attribute expands to: the item (or a stand-in close to the real expansion)
//! plus the errors, never a panic and never nothing. The user then sees exactly the errors
//! we report, not follow-on errors about a missing or `async` `main`, and IDEs keep
//! completing inside the function. Both attributes enter through [`expand_or_fall_back`].

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, ItemFn};

use crate::{tokens, valid};

/// Expands an attribute on a function with `expand`, and never fails. An item that is no
/// function is kept as written, with the error that `not_a_function` gives; when `expand`
/// reports errors, they follow what `stand_in` makes of the function and the item.
pub(crate) fn expand_or_fall_back(
    item: TokenStream,
    not_a_function: fn() -> syn::Error,
    expand: impl FnOnce(&ItemFn) -> syn::Result<TokenStream>,
    stand_in: impl FnOnce(&ItemFn, TokenStream) -> TokenStream,
) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => return with_error(item, &not_a_function()),
    };
    match expand(&function) {
        Ok(tokens) => tokens,
        Err(error) => with_error(stand_in(&function, item), &error),
    }
}

/// `tokens` followed by `compile_error!`s for every error in `error`.
pub(crate) fn with_error(mut tokens: TokenStream, error: &syn::Error) -> TokenStream {
    tokens.extend(error.to_compile_error());
    tokens
}

/// The stand-in for `#[graceful::main]`: a synchronous `fn main()`, so rustc does not add
/// "`main` function not found" or "`main` function is not allowed to be `async`", with the
/// user's function nested inside it, made into a plain `async fn`, so that its body is still
/// checked and IDEs still understand it. Nothing runs it.
///
/// A method (it has `self`) stays as written: it is in an `impl` block, not in place of
/// `main`, and its body may use `self`. Other entry points and hooks stacked on the function
/// are left out: they have their own error, and would only add more on the stand-in.
pub(crate) fn main(function: &ItemFn) -> TokenStream {
    let attrs = function
        .attrs
        .iter()
        .filter(|attr| valid::stacked(attr, None).is_none());
    let block = &function.block;
    if matches!(function.sig.inputs.first(), Some(FnArg::Receiver(_))) {
        let vis = &function.vis;
        let sig = &function.sig;
        return quote!(#(#attrs)* #vis #sig #block);
    }
    let mut inner = function.sig.clone();
    inner.asyncness = Some(<syn::Token![async]>::default());
    inner.constness = None;
    inner.abi = None;
    inner.variadic = None;
    let body = quote! {
        #[allow(unused, clippy::unused_async)]
        #inner #block
    };
    tokens::sync_fn(attrs, function, body)
}
