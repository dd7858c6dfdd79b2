//! Stage 3 of `#[graceful::main]`: the expansion, as laid down in the runtime's `__private`
//! contract. It runs only once stages 1 and 2 found nothing wrong, so it cannot fail: it
//! writes out the checked [`Config`] and calls into the runtime, with no logic of its own.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use super::check::Config;
use crate::tokens;

/// A synchronous `fn main()` in place of the user's, with their function nested inside it
/// and handed to `__private::Main`, the runtime's builder, set as the arguments say.
pub(super) fn generate(config: &Config, function: &ItemFn) -> TokenStream {
    let p = tokens::runtime_path(config.crate_path.as_ref());
    let name = &function.sig.ident;
    let output = &function.sig.output;
    let block = &function.block;

    let mut builder = quote!(#p::__private::Main::new());
    if let Some(deadline) = config.deadline {
        let deadline = tokens::duration(deadline);
        builder.extend(quote!(.deadline(#deadline)));
    }
    if let Some(drain_delay) = config.drain_delay {
        let drain_delay = tokens::duration(drain_delay);
        builder.extend(quote!(.drain_delay(#drain_delay)));
    }
    if let Some(signals) = &config.signals {
        let variants = signals
            .iter()
            .map(|variant| syn::Ident::new(variant, Span::call_site()));
        builder.extend(quote!(.signals([#(#p::__private::Signal::#variants),*])));
    }
    if config.current_thread {
        builder.extend(quote!(.flavor(#p::__private::Flavor::CurrentThread)));
    }
    if let Some(worker_threads) = config.worker_threads {
        let worker_threads = tokens::int(worker_threads as u128);
        builder.extend(quote!(.worker_threads(#worker_threads)));
    }
    if let Some(tasks_order) = config.tasks_order {
        let tasks_order = tokens::i32(tasks_order);
        builder.extend(quote!(.tasks_order(#tasks_order)));
    }
    if let Some(variant) = config.upgrade {
        let variant = syn::Ident::new(variant, Span::call_site());
        builder.extend(quote!(.upgrade(#p::__private::Signal::#variant)));
    }
    if let Some(variant) = config.on_task_panic {
        let variant = syn::Ident::new(variant, Span::call_site());
        builder.extend(quote!(.on_task_panic(#p::__private::TaskPanic::#variant)));
    }

    // `run` requires the body's output to be a `MainOutput`; locate the call at the return
    // type so that a wrong one is reported there.
    let output_span = tokens::at(match output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    });
    let mut callee = name.clone();
    callee.set_span(output_span);
    let call = quote_spanned!(output_span=> #callee());

    // The user's function, unchanged but for its attributes and visibility, which go to the
    // synchronous `main`.
    let body = quote! {
        #[allow(clippy::unused_async)]
        async fn #name() #output #block
        #builder.run(#call)
    };
    tokens::sync_fn(&function.attrs, function, body)
}
