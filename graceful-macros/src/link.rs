//! `graceful::link!(a, b)`: the crate names, checked one by one, and an `extern crate` for
//! each, located at its name so that rustc's "can't find crate" points there.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::quote_spanned;

use crate::errors::Errors;
use crate::tokens::{self, Piece};

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
    let pieces = tokens::split_on_commas(input);
    if pieces.iter().all(|piece| piece.tokens.is_empty()) {
        errors.push(syn::Error::new(
            Span::call_site(),
            format!("`{MACRO}` needs the library crates to link, like `{EXAMPLE}`"),
        ));
        return (tokens, errors);
    }
    for piece in pieces {
        match crate_name(&piece) {
            Ok(Some(name)) => {
                tokens.extend(quote_spanned!(name.span()=> extern crate #name as _;));
            }
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    (tokens, errors)
}

/// One crate name, or `None` for the nothing after a trailing comma.
fn crate_name(piece: &Piece) -> syn::Result<Option<syn::Ident>> {
    let whole: TokenStream = piece.tokens.iter().cloned().collect();
    match piece.tokens.as_slice() {
        [] => match &piece.comma {
            None => Ok(None),
            Some(comma) => Err(syn::Error::new(
                comma.span(),
                format!("a crate name is missing in `{MACRO}` before this `,`; remove the `,`"),
            )),
        },
        [TokenTree::Ident(ident)] if is_path_keyword(ident) => Err(syn::Error::new(
            ident.span(),
            format!(
                "`{ident}` is not a dependency: `{MACRO}` takes the names of library crates \
                 the binary depends on, like `{EXAMPLE}`"
            ),
        )),
        [TokenTree::Ident(ident)] => Ok(Some(ident.clone())),
        [TokenTree::Literal(literal)] => match syn::parse2::<syn::LitStr>(whole.clone()) {
            Ok(string) => {
                let name = rust_name(&string.value());
                let hint = if syn::parse_str::<syn::Ident>(&name).is_ok() {
                    format!("write `{name}`, without quotes")
                } else {
                    format!("like `{EXAMPLE}`")
                };
                Err(syn::Error::new(
                    literal.span(),
                    format!(
                        "`{MACRO}` takes crate names as written in Rust code, not strings; {hint}"
                    ),
                ))
            }
            Err(_) => Err(not_a_crate_name(whole)),
        },
        [TokenTree::Group(group)] if group.delimiter() == Delimiter::None => crate_name(&Piece {
            tokens: group.stream().into_iter().collect(),
            comma: piece.comma.clone(),
        }),
        tokens if is_dashed(tokens) => {
            let name = rust_name(&whole.to_string().replace(' ', ""));
            Err(syn::Error::new_spanned(
                whole,
                format!(
                    "`{MACRO}` takes crate names as written in Rust code, with `_` where the \
                     package name has `-`: write `{name}`"
                ),
            ))
        }
        _ => Err(not_a_crate_name(whole)),
    }
}

fn not_a_crate_name(tokens: TokenStream) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!(
            "`{MACRO}` takes the names of library crates, separated by commas, like `{EXAMPLE}`"
        ),
    )
}

/// `self`, `crate`, `super`, `Self`: names, but never of a dependency.
fn is_path_keyword(ident: &proc_macro2::Ident) -> bool {
    ["self", "crate", "super", "Self"]
        .iter()
        .any(|keyword| ident == keyword)
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
    fn a_name_passed_through_another_macro() {
        // `macro_rules!` wraps an `$name:expr` in an invisible group.
        let grouped = proc_macro2::Group::new(Delimiter::None, tokens("billing"));
        let (out, errors) = expand(TokenTree::Group(grouped).into());
        assert!(errors.finish().is_ok());
        assert_eq!(text(&out), "extern crate billing as _ ;");
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
                    "`graceful::link!` takes the names of library crates, separated by commas, like `graceful::link!(my_hooks, billing);`"
                        .to_owned(),
                    "7".to_owned()
                ),
            ]
        );
        for keyword in ["crate", "super", "Self"] {
            assert_eq!(
                refused(keyword),
                [(
                    format!(
                        "`{keyword}` is not a dependency: `graceful::link!` takes the names of library \
                         crates the binary depends on, like `graceful::link!(my_hooks, billing);`"
                    ),
                    keyword.to_owned()
                )]
            );
        }
        assert_eq!(
            refused("a, , b"),
            [(
                "a crate name is missing in `graceful::link!` before this `,`; remove the `,`"
                    .to_owned(),
                ",".to_owned()
            )]
        );
        assert_eq!(
            refused(r#""x y""#),
            [(
                "`graceful::link!` takes crate names as written in Rust code, not strings; like `graceful::link!(my_hooks, billing);`"
                    .to_owned(),
                "\"x y\"".to_owned()
            )]
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
