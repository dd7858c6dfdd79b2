//! `graceful::link!(a, b)`: the crate names, checked one by one, and an `extern crate` for
//! each, located at its name so that rustc's "can't find crate" points there.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::quote_spanned;

use crate::args::Errors;

const MACRO: &str = "graceful::link!";
const EXAMPLE: &str = "graceful::link!(my_hooks, billing);";

/// The entry point: the `extern crate`s of the names that are fine, and an error for each
/// that is not.
pub(crate) fn link(input: TokenStream) -> TokenStream {
    let (mut tokens, errors) = expand(input);
    if let Err(error) = errors.finish() {
        tokens.extend(error.to_compile_error());
    }
    tokens
}

fn expand(input: TokenStream) -> (TokenStream, Errors) {
    let mut errors = Errors::default();
    let mut tokens = TokenStream::new();
    let pieces = split_on_commas(input);
    if pieces.iter().all(Vec::is_empty) {
        errors.push(syn::Error::new(
            Span::call_site(),
            format!("`{MACRO}` needs the library crates to link, like `{EXAMPLE}`"),
        ));
        return (tokens, errors);
    }
    let last = pieces.len() - 1;
    for (i, piece) in pieces.into_iter().enumerate() {
        match crate_name(piece, i == last) {
            Ok(Some(name)) => {
                tokens.extend(quote_spanned!(name.span()=> extern crate #name as _;));
            }
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    (tokens, errors)
}

/// The tokens between commas; `a, b,` gives `[a]`, `[b]`, `[]`.
fn split_on_commas(input: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut pieces = vec![Vec::new()];
    for tree in input {
        match &tree {
            TokenTree::Punct(punct) if punct.as_char() == ',' => pieces.push(Vec::new()),
            _ => pieces.last_mut().expect("never empty").push(tree),
        }
    }
    pieces
}

/// One crate name, or `None` for the empty piece after a trailing comma.
fn crate_name(piece: Vec<TokenTree>, last: bool) -> syn::Result<Option<syn::Ident>> {
    let whole: TokenStream = piece.iter().cloned().collect();
    match piece.as_slice() {
        [] if last => Ok(None),
        [] => Err(syn::Error::new(
            Span::call_site(),
            format!("empty crate name in `{MACRO}`: remove the extra `,`"),
        )),
        [TokenTree::Ident(ident)] if ["self", "crate", "super", "Self"].contains(&ident.to_string().as_str()) => {
            Err(syn::Error::new(
                ident.span(),
                format!("`{ident}` is not a dependency: `{MACRO}` takes the names of library crates the binary depends on, like `{EXAMPLE}`"),
            ))
        }
        [TokenTree::Ident(ident)] => Ok(Some(ident.clone())),
        [TokenTree::Literal(literal)] => {
            let text = literal.to_string();
            let hint = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .map(rust_name)
                .filter(|name| syn::parse_str::<syn::Ident>(name).is_ok())
                .map_or_else(
                    || format!("like `{EXAMPLE}`"),
                    |name| format!("write `{name}`, without quotes"),
                );
            Err(syn::Error::new(
                literal.span(),
                format!("`{MACRO}` takes crate names as written in Rust code, not strings; {hint}"),
            ))
        }
        _ if is_dashed(&piece) => {
            let name = rust_name(&whole.to_string().replace(' ', ""));
            Err(syn::Error::new_spanned(
                whole,
                format!("`{MACRO}` takes crate names as written in Rust code, with `_` where the package name has `-`: write `{name}`"),
            ))
        }
        [TokenTree::Group(group)] if group.delimiter() == Delimiter::None => {
            crate_name(group.stream().into_iter().collect(), last)
        }
        _ => Err(syn::Error::new_spanned(
            whole,
            format!("`{MACRO}` takes the names of library crates, separated by commas, like `{EXAMPLE}`"),
        )),
    }
}

/// `my-hooks` is `my_hooks` in Rust code.
fn rust_name(package: &str) -> String {
    package.replace('-', "_")
}

/// `my-hooks`, `a-b-c`: identifiers joined by `-`.
fn is_dashed(piece: &[TokenTree]) -> bool {
    piece.len() >= 3
        && piece.iter().enumerate().all(|(i, tree)| match tree {
            TokenTree::Ident(_) | TokenTree::Literal(_) if i % 2 == 0 => true,
            TokenTree::Punct(punct) if i % 2 == 1 => punct.as_char() == '-',
            _ => false,
        })
        && piece.len() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{text, tokens};

    fn expanded(input: &str) -> String {
        let (tokens, errors) = expand(tokens(input));
        if let Err(error) = errors.finish() {
            panic!("unexpected error: {error}");
        }
        text(&tokens)
    }

    /// Each error's message and the source text it points at.
    fn refused(input: &str) -> Vec<(String, String)> {
        let (_, errors) = expand(tokens(input));
        crate::test_util::errors(errors.finish().map(|()| TokenStream::new()))
    }

    #[test]
    fn an_extern_crate_for_each_name() {
        assert_eq!(expanded("billing"), "extern crate billing as _ ;");
        assert_eq!(
            expanded("billing, audit_log, r#async,"),
            "extern crate billing as _ ; extern crate audit_log as _ ; extern crate r#async as _ ;"
        );
    }

    #[test]
    fn nothing_to_link() {
        for input in ["", ","] {
            assert_eq!(
                refused(input),
                [(
                    "`graceful::link!` needs the library crates to link, like `graceful::link!(my_hooks, billing);`"
                        .to_owned(),
                    String::new()
                )]
            );
        }
    }

    #[test]
    fn each_bad_name_on_its_tokens() {
        assert_eq!(
            refused(r#""audit-log", my-hooks, a::b, self, 7, billing"#),
            [
                (
                    "`graceful::link!` takes crate names as written in Rust code, not strings; write `audit_log`, without quotes"
                        .to_owned(),
                    "\"audit-log\"".to_owned()
                ),
                (
                    "`graceful::link!` takes crate names as written in Rust code, with `_` where the package name has `-`: write `my_hooks`"
                        .to_owned(),
                    "my-hooks".to_owned()
                ),
                (
                    "`graceful::link!` takes the names of library crates, separated by commas, like `graceful::link!(my_hooks, billing);`"
                        .to_owned(),
                    "a::b".to_owned()
                ),
                (
                    "`self` is not a dependency: `graceful::link!` takes the names of library crates the binary depends on, \
                     like `graceful::link!(my_hooks, billing);`"
                        .to_owned(),
                    "self".to_owned()
                ),
                (
                    "`graceful::link!` takes crate names as written in Rust code, not strings; like `graceful::link!(my_hooks, billing);`"
                        .to_owned(),
                    "7".to_owned()
                ),
            ]
        );
        assert_eq!(
            refused("a,,b")
                .into_iter()
                .map(|(m, _)| m)
                .collect::<Vec<_>>(),
            ["empty crate name in `graceful::link!`: remove the extra `,`"]
        );
    }

    #[test]
    fn the_good_names_are_linked_next_to_the_errors() {
        let out = text(&link(tokens("billing, \"x\"")));
        assert!(
            out.starts_with("extern crate billing as _ ; :: core :: compile_error !"),
            "{out}"
        );
    }
}
