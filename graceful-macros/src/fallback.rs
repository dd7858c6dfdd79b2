//! What a misused attribute expands to: the item (or a stand-in close to the real expansion)
//! plus the error. The user then sees exactly the one error we report, not follow-on errors
//! about a missing or `async` `main`, and IDEs keep completing inside the function.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, ItemFn};

use crate::valid;

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
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = function;
    let attrs = attrs
        .iter()
        .filter(|attr| valid::stacked(attr, None).is_none());
    if matches!(sig.inputs.first(), Some(FnArg::Receiver(_))) {
        return quote!(#(#attrs)* #vis #sig #block);
    }
    let name = &sig.ident;
    let mut inner = sig.clone();
    inner.asyncness = Some(<syn::Token![async]>::default());
    inner.constness = None;
    inner.abi = None;
    inner.variadic = None;
    quote! {
        #(#attrs)*
        #vis fn #name() {
            #[allow(unused, clippy::unused_async)]
            #inner #block
        }
    }
}
