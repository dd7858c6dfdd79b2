//! Stage 1, shared by both attributes: split `key = value, flag, ...` into raw arguments with
//! their spans, rejecting unknown and duplicate keys. The values are read later, by stage 2
//! of each attribute, with the typed readers of [`read`].
//!
//! Parsing only stops on broken syntax. Problems with a well-formed argument (unknown key,
//! duplicate, bad value) go into [`Errors`] so that all of them are reported at once.

pub(crate) mod read;
#[cfg(test)]
mod tests;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Token};

use crate::errors::{backticked, suggest, Errors};
use crate::tokens;

/// What an attribute accepts.
pub(crate) struct Spec {
    /// The attribute as users write it, for messages: `#[graceful::main]`.
    pub(crate) attr: &'static str,
    /// Every key with an example of its use (the example of a flag is the bare key).
    pub(crate) keys: &'static [Key],
    /// Names users are likely to try that mean another key: `("timeout", "deadline")`.
    pub(crate) hints: &'static [(&'static str, &'static str)],
    /// The key an integer written without one stands for: `#[graceful::teardown(10)]`.
    pub(crate) unnamed_integer: Option<&'static str>,
}

/// One accepted key.
pub(crate) struct Key {
    pub(crate) name: &'static str,
    /// Shown when the key is misused: `deadline = "30s"`.
    pub(crate) example: &'static str,
    /// A bare flag such as `always`: takes no value.
    pub(crate) flag: bool,
    /// A flag that may also take a value: `upgrade`, or `upgrade = "SIGUSR2"`.
    pub(crate) value_too: bool,
}

impl Key {
    /// A key that takes a value, shown as `example` when it is misused.
    pub(crate) const fn value(name: &'static str, example: &'static str) -> Self {
        Key {
            name,
            example,
            flag: false,
            value_too: false,
        }
    }

    /// A bare flag, such as `always`.
    pub(crate) const fn flag(name: &'static str) -> Self {
        Key {
            name,
            example: name,
            flag: true,
            value_too: false,
        }
    }

    /// A flag that may take a value instead of its default, shown as `example` when it
    /// is misused.
    pub(crate) const fn flag_or_value(name: &'static str, example: &'static str) -> Self {
        Key {
            name,
            example,
            flag: true,
            value_too: true,
        }
    }
}

impl Spec {
    fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|key| key.name == name)
    }

    fn names(&self) -> Vec<&'static str> {
        self.keys.iter().map(|key| key.name).collect()
    }

    /// "expected one of `a`, `b`, `c`".
    pub(crate) fn expected(&self) -> String {
        format!("expected one of {}", backticked(&self.names()))
    }
}

/// A well-formed argument, not yet checked for meaning.
pub(crate) struct RawArg {
    pub(crate) key: &'static Key,
    /// The span of the key, for "duplicate"/"conflicts with" messages.
    pub(crate) key_span: Span,
    /// `None` for a flag.
    pub(crate) value: Option<Expr>,
}

impl RawArg {
    /// The value of a non-flag key (stage 1 guarantees there is one).
    pub(crate) fn value(&self) -> syn::Result<&Expr> {
        self.value.as_ref().ok_or_else(|| {
            syn::Error::new(self.key_span, format!("expected `{}`", self.key.example))
        })
    }
}

/// The arguments of one attribute, each key at most once.
pub(crate) struct RawArgs {
    pub(crate) args: Vec<RawArg>,
    /// Every known key written, even misused: a misused `order` is not also "missing".
    written: Vec<&'static str>,
}

impl RawArgs {
    pub(crate) fn get(&self, name: &str) -> Option<&RawArg> {
        self.args.iter().find(|arg| arg.key.name == name)
    }

    pub(crate) fn written(&self, name: &str) -> bool {
        self.written.contains(&name)
    }
}

/// Parses the attribute's arguments. Every problem is pushed to `errors`: a misused argument
/// is left out and the others are read, but broken syntax stops the parsing, and then there
/// are no arguments at all (`None`).
pub(crate) fn parse(spec: &Spec, tokens: TokenStream, errors: &mut Errors) -> Option<RawArgs> {
    let mut args: Vec<RawArg> = Vec::new();
    let mut written: Vec<&'static str> = Vec::new();
    // A value without a key (`10`, `"30s"`) is reported here and left out: syn's parser
    // would stop at it with "expected ident".
    let mut keyed = TokenStream::new();
    for piece in tokens::split_on_commas(tokens) {
        match unnamed_value(&piece.tokens) {
            Some(value) => errors.push(unnamed(spec, &value, &mut written)),
            None => {
                keyed.extend(piece.tokens);
                keyed.extend(piece.comma.map(TokenTree::Punct));
            }
        }
    }
    let parsed = syn::meta::parser(|meta| {
        let key_span = meta.path.span();
        let path = path_text(&meta.path);
        // `key: value`, as in other languages, is read whole and reported below: one error,
        // and no "expected `,`" after it.
        let colon = if meta.input.peek(Token![:]) {
            Some(meta.input.parse::<Token![:]>()?)
        } else {
            None
        };
        let value = if colon.is_some() {
            Some(meta.input.parse::<Expr>()?)
        } else if meta.input.peek(Token![=]) {
            Some(meta.value()?.parse::<Expr>()?)
        } else {
            None
        };
        // `key(...)`: kept whole, parentheses included, to be reported.
        let list = if meta.input.peek(syn::token::Paren) {
            Some(meta.input.parse::<proc_macro2::TokenTree>()?)
        } else {
            None
        };

        let Some(key) = meta
            .path
            .get_ident()
            .and_then(|name| spec.key(&name.to_string()))
        else {
            errors.push(unknown_argument(spec, &path, &meta.path));
            return Ok(());
        };
        written.push(key.name);
        // The key and what follows it, for errors about both.
        let mut whole = meta.path.to_token_stream();
        whole.extend(colon.to_token_stream());
        whole.extend(value.to_token_stream());
        whole.extend(list.clone());
        // A known key misused: the first problem is reported, and the argument left out.
        let name = key.name;
        let misused = |problem: String| format!("`{name}` in `{}` {problem}", spec.attr);
        let misuse = if colon.is_some() {
            let message = misused(format!("takes `=`, not `:`; write `{}`", key.example));
            Some(syn::Error::new_spanned(whole, message))
        } else if list.is_some() {
            let message = misused(format!("is not a list; write `{}`", key.example));
            Some(syn::Error::new_spanned(whole, message))
        } else if args.iter().any(|arg| arg.key.name == name) {
            let message = format!(
                "duplicate argument `{name}` in `{}`; give it once",
                spec.attr
            );
            Some(syn::Error::new(key_span, message))
        } else if value.is_some() && key.flag && !key.value_too {
            let message = misused(format!(
                "is a flag and takes no value; write `{name}` alone, or leave it out"
            ));
            Some(syn::Error::new_spanned(whole, message))
        } else if value.is_none() && !key.flag {
            let message = misused(format!("needs a value; write `{}`", key.example));
            Some(syn::Error::new(key_span, message))
        } else {
            None
        };
        match misuse {
            Some(error) => errors.push(error),
            None => args.push(RawArg {
                key,
                key_span,
                value,
            }),
        }
        Ok(())
    })
    .parse2(keyed);
    errors.ok(parsed)?;
    Some(RawArgs { args, written })
}

/// A literal, or a negative one, that stands alone between commas.
fn unnamed_value(tokens: &[TokenTree]) -> Option<Expr> {
    let starts_with_a_literal = match tokens {
        [TokenTree::Literal(_), ..] => true,
        [TokenTree::Punct(minus), TokenTree::Literal(_), ..] => minus.as_char() == '-',
        [TokenTree::Group(group)] if group.delimiter() == Delimiter::None => {
            return unnamed_value(&group.stream().into_iter().collect::<Vec<_>>());
        }
        _ => false,
    };
    if !starts_with_a_literal {
        return None;
    }
    let value: Expr = syn::parse2(tokens.iter().cloned().collect()).ok()?;
    matches!(value, Expr::Lit(_) | Expr::Unary(_)).then_some(value)
}

/// ``arguments of `#[graceful::teardown]` are named: write `order = 10` ``. The key that an
/// integer stands for counts as written, so it is not also reported missing.
fn unnamed(spec: &Spec, value: &Expr, written: &mut Vec<&'static str>) -> syn::Error {
    let integer = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(_), ..
        }) => true,
        Expr::Unary(unary) => matches!(
            &*unary.expr,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_),
                ..
            })
        ),
        _ => false,
    };
    let message = match spec.unnamed_integer.filter(|_| integer) {
        Some(key) => {
            written.push(key);
            let value = value.to_token_stream().to_string().replace(' ', "");
            format!(
                "arguments of `{}` are named: write `{key} = {value}`",
                spec.attr
            )
        }
        None => format!(
            "arguments of `{}` are named, like `{}`; {}",
            spec.attr,
            spec.keys[0].example,
            spec.expected()
        ),
    };
    syn::Error::new_spanned(value, message)
}

/// ``unknown argument `dedline` in `#[graceful::main]`; did you mean `deadline`? expected one of ...``
fn unknown_argument(spec: &Spec, written: &str, path: &syn::Path) -> syn::Error {
    let names = spec.names();
    let hint = spec
        .hints
        .iter()
        .find(|(alias, _)| *alias == written)
        .map(|(_, meant)| *meant)
        .or_else(|| suggest::nearest(written, &names));
    let did_you_mean = suggest::did_you_mean(hint.map(|hint| format!("`{hint}`")));
    syn::Error::new_spanned(
        path,
        format!(
            "unknown argument `{written}` in `{}`{did_you_mean}{}",
            spec.attr,
            spec.expected()
        ),
    )
}

fn path_text(path: &syn::Path) -> String {
    let mut text = String::new();
    if path.leading_colon.is_some() {
        text.push_str("::");
    }
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    text.push_str(&segments.join("::"));
    text
}
