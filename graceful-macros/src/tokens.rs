//! Small pieces of generated code shared by the expansions, and the token handling they
//! share.

use std::time::Duration;

use proc_macro2::{Punct, Span, TokenStream, TokenTree};
use quote::quote;
use syn::{Attribute, ItemFn, LitInt};

/// The path of the runtime crate in generated code: `::graceful`, or `crate = "..."`.
pub(crate) fn runtime_path(path: Option<&syn::Path>) -> TokenStream {
    path.map_or_else(|| quote!(::graceful), |path| quote!(#path))
}

/// `fn NAME() { BODY }` with `attrs` and the function's visibility: the synchronous `main`
/// that stands where the user's `async fn` was, in the expansion of `#[graceful::main]` and
/// in its stand-in alike.
pub(crate) fn sync_fn<'a>(
    attrs: impl IntoIterator<Item = &'a Attribute>,
    function: &ItemFn,
    body: TokenStream,
) -> TokenStream {
    let attrs = attrs.into_iter();
    let vis = &function.vis;
    let name = &function.sig.ident;
    quote! {
        #(#attrs)*
        #vis fn #name() {
            #body
        }
    }
}

/// A span that is *located* at the user's token, so that a type error points there, but
/// *resolves* like macro-generated code: our local names cannot clash with the user's, and
/// lints that skip expansions (clippy's `unit_arg`, `used_underscore_binding`, ...) do not fire
/// on code the user did not write.
pub(crate) fn at(user: Span) -> Span {
    Span::mixed_site().located_at(user)
}

/// Whether `tokens` mention the identifier `name` anywhere: `impl` in `Result<(), impl
/// Display>` (such a type cannot be named in a function body), `block_on` in a body.
pub(crate) fn mentions(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

/// What stands before a comma, or after the last one.
pub(crate) struct Piece {
    pub(crate) tokens: Vec<TokenTree>,
    /// The comma after it, if any.
    pub(crate) comma: Option<Punct>,
}

/// `a, b,` gives `a` and `b`, each with its comma, then nothing. Commas inside brackets
/// (`["SIGINT", "SIGTERM"]`) are not split on.
pub(crate) fn split_on_commas(input: TokenStream) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut tokens = Vec::new();
    for tree in input {
        match tree {
            TokenTree::Punct(punct) if punct.as_char() == ',' => pieces.push(Piece {
                tokens: std::mem::take(&mut tokens),
                comma: Some(punct),
            }),
            other => tokens.push(other),
        }
    }
    pieces.push(Piece {
        tokens,
        comma: None,
    });
    pieces
}

/// `::core::time::Duration::new(SECS, NANOS)`.
pub(crate) fn duration(duration: Duration) -> TokenStream {
    let secs = int(u128::from(duration.as_secs()));
    let nanos = int(u128::from(duration.subsec_nanos()));
    quote!(::core::time::Duration::new(#secs, #nanos))
}

/// `-5`, `10`, `2_147_483_647`.
pub(crate) fn i32(value: i32) -> TokenStream {
    let magnitude = int(u128::from(value.unsigned_abs()));
    if value < 0 {
        quote!(-#magnitude)
    } else {
        quote!(#magnitude)
    }
}

/// An unsuffixed integer literal with `_` every three digits from 10 000 on, so that the
/// expansion reads well and `clippy::unreadable_literal` has nothing to say.
pub(crate) fn int(value: u128) -> LitInt {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() * 4 / 3);
    for (i, digit) in digits.chars().enumerate() {
        if digits.len() > 4 && i > 0 && (digits.len() - i) % 3 == 0 {
            text.push('_');
        }
        text.push(digit);
    }
    LitInt::new(&text, Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_integers() {
        let text = |value: u128| int(value).to_string();
        assert_eq!(text(0), "0");
        assert_eq!(text(30), "30");
        assert_eq!(text(1500), "1500");
        assert_eq!(text(86_400), "86_400");
        assert_eq!(text(500_000_000), "500_000_000");
        assert_eq!(text(1_234_567), "1_234_567");
        assert_eq!(i32(-5).to_string(), "- 5");
        assert_eq!(i32(i32::MIN).to_string(), "- 2_147_483_648");
    }

    #[test]
    fn finds_impl_trait() {
        let mentions_impl = |tokens| mentions(tokens, "impl");
        assert!(mentions_impl(quote!(impl Display)));
        assert!(mentions_impl(quote!(Result<(), impl Display>)));
        assert!(mentions_impl(quote!(Box<(impl Display,)>)));
        assert!(!mentions_impl(quote!(Result<(), Box<dyn Error>>)));
        assert!(!mentions_impl(quote!(implement::Thing)));
        assert!(mentions(quote!({ rt.block_on(body) }), "block_on"));
        assert!(!mentions(quote!({ "block_on" }), "block_on"));
    }

    #[test]
    fn durations() {
        assert_eq!(
            duration(Duration::from_millis(1500)).to_string(),
            ":: core :: time :: Duration :: new (1 , 500_000_000)"
        );
    }
}
