//! Stage 3 of `#[graceful::teardown]`: the expansion, as laid down in the runtime's
//! `__private` contract. The function is kept as written, and a [`Hook`] entry that calls it
//! is submitted to `inventory`. It runs only once stages 1 and 2 found nothing wrong, so it
//! cannot fail.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType, Type};

use super::check::Hook;
use crate::tokens;

/// The function as written, then `inventory::submit!` of a `__private::Hook` that extracts
/// each parameter by its type, calls the function and converts what it returns.
pub(super) fn generate(hook: &Hook, function: &ItemFn, parameters: &[Type]) -> TokenStream {
    let p = tokens::runtime_path(hook.crate_path.as_ref());
    let function_name = &function.sig.ident;

    let name = hook.name.as_ref().map_or_else(
        || {
            let last = function_name.unraw().to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #last))
        },
        |name| quote!(#name),
    );
    let order = tokens::i32(hook.order);

    // Mixed-site names: invisible to the user's code, and theirs to ours.
    let ctx = syn::Ident::new("ctx", Span::mixed_site());
    let ctx_pattern = if parameters.is_empty() {
        quote!(_)
    } else {
        quote!(#ctx)
    };
    let args: Vec<syn::Ident> = (0..parameters.len())
        .map(|i| format_ident!("arg{}", i, span = Span::mixed_site()))
        .collect();
    // Each extraction is located at the parameter's type, so "`X: Extract` is not satisfied"
    // points at the user's `X`.
    let extractions = parameters.iter().zip(&args).map(|(ty, arg)| {
        let span = tokens::at(ty.span());
        quote_spanned! {span=>
            let #arg = <#ty as #p::__private::Extract>::extract(&#ctx)?;
        }
    });
    // The conversion of the result names the return type, so that "`X: IntoHookResult` is
    // not satisfied" points at the user's `X`. An `impl Trait` cannot be named: the value is
    // then bound to a name located at it, and the error points there.
    let convert = |value: TokenStream| match &function.sig.output {
        ReturnType::Type(_, ty) if !tokens::mentions(quote!(#ty), "impl") => {
            let into_hook_result = quote_spanned! {tokens::at(ty.span())=>
                <#ty as #p::__private::IntoHookResult>::into_hook_result
            };
            quote!(#into_hook_result(#value))
        }
        ReturnType::Type(_, ty) => {
            let output = syn::Ident::new("output", tokens::at(ty.span()));
            quote! {{
                let #output = #value;
                #p::__private::IntoHookResult::into_hook_result(#output)
            }}
        }
        ReturnType::Default => quote!(#p::__private::IntoHookResult::into_hook_result(#value)),
    };
    let call = quote!(#function_name(#(#args),*));
    let run = if function.sig.asyncness.is_some() {
        let result = convert(quote!(#call.await));
        // The future must be `Send`: locate the boxing at the function's name, so that the
        // error says which hook is not.
        let boxed = quote_spanned! {tokens::at(function_name.span())=>
            ::std::boxed::Box::pin(async move {
                #(#extractions)*
                #result
            })
        };
        quote! {
            #p::__private::HookFn::Async(|#ctx_pattern| #boxed)
        }
    } else {
        let result = convert(call);
        quote! {
            #p::__private::HookFn::Blocking(|#ctx_pattern| {
                #(#extractions)*
                #result
            })
        }
    };
    // What each parameter takes from `provide`, for `graceful::ready()` to check: asked
    // of the parameter's type, so that an alias of `State<T>` counts too. Located at the
    // type, like its extraction.
    let states = (!parameters.is_empty()).then(|| {
        let states = parameters.iter().map(|ty| {
            let span = tokens::at(ty.span());
            quote_spanned!(span=> <#ty as #p::__private::Extract>::STATE)
        });
        quote!(.states(&[#(#states),*]))
    });
    let timeout = hook.timeout.map(|timeout| {
        let timeout = tokens::duration(timeout);
        quote!(.timeout(#timeout))
    });
    let always = hook.always.then(|| quote!(.always()));

    quote! {
        // The signature is dictated by the attribute: extractors are taken by value, and an
        // `async fn` without `.await` is a fine hook (a sync one would take a blocking thread).
        #[allow(clippy::unused_async, clippy::needless_pass_by_value)]
        #function
        #p::__private::inventory::submit! {
            #p::__private::Hook::new(#name, #order, #run)
            #states
            #timeout
            #always
        }
    }
}
