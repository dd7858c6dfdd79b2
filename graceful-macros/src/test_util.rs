//! Helpers for the unit tests of the expansions.

use proc_macro2::TokenStream;
use syn::ItemFn;

/// Parses source text into tokens with real spans (proc-macro2's `span-locations`).
pub(crate) fn tokens(source: &str) -> TokenStream {
    match source.parse() {
        Ok(tokens) => tokens,
        Err(error) => panic!("bad test input {source:?}: {error}"),
    }
}

pub(crate) fn item(source: &str) -> ItemFn {
    match syn::parse_str(source) {
        Ok(item) => item,
        Err(error) => panic!("bad test item {source:?}: {error}"),
    }
}

/// Each error's message and the source text its span covers (empty for the attribute
/// itself, `Span::call_site()`).
pub(crate) fn errors(result: syn::Result<TokenStream>) -> Vec<(String, String)> {
    match result {
        Ok(tokens) => panic!("expected errors, got the expansion {tokens}"),
        Err(error) => error
            .into_iter()
            .map(|error| {
                let text = error.span().source_text().unwrap_or_default();
                (error.to_string(), text)
            })
            .collect(),
    }
}

/// Only each error's message.
pub(crate) fn messages(result: syn::Result<TokenStream>) -> Vec<String> {
    errors(result)
        .into_iter()
        .map(|(message, _)| message)
        .collect()
}

/// Only where each error points.
pub(crate) fn error_spans(result: syn::Result<TokenStream>) -> Vec<String> {
    errors(result).into_iter().map(|(_, text)| text).collect()
}

/// Tokens as a string, for comparing an expansion with the expected one.
pub(crate) fn text(tokens: &TokenStream) -> String {
    tokens.to_string()
}

/// Runs an attribute's entry point on each of `args` with each of `items`: whatever they
/// are, it must not panic, and it returns the item or at least an error.
pub(crate) fn never_panics(
    entry: fn(TokenStream, TokenStream) -> TokenStream,
    args: &[&str],
    items: &[&str],
) {
    for args in args {
        for item in items {
            let out = entry(tokens(args), tokens(item));
            assert!(!out.is_empty() || item.is_empty(), "{args} / {item}");
        }
    }
}
