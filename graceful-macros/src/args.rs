//! Stage 1, shared by both attributes: split `key = value, flag, ...` into raw arguments with
//! their spans, rejecting unknown and duplicate keys; and typed readers for the values.
//!
//! Parsing only fails outright on broken syntax. Problems with a well-formed argument
//! (unknown key, duplicate, bad value) go into [`Errors`] so that all of them are reported
//! at once.

use std::time::Duration;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitInt, LitStr, Token, UnOp};

use crate::errors::{backticked, suggest, Errors};
use crate::shared::duration;
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
}

impl Key {
    /// A key that takes a value, shown as `example` when it is misused.
    pub(crate) const fn value(name: &'static str, example: &'static str) -> Self {
        Key {
            name,
            example,
            flag: false,
        }
    }

    /// A bare flag, such as `always`.
    pub(crate) const fn flag(name: &'static str) -> Self {
        Key {
            name,
            example: name,
            flag: true,
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

/// Parses the attribute's arguments. Fails only on broken syntax; everything else is pushed
/// to `errors` and the argument is left out.
pub(crate) fn parse(spec: &Spec, tokens: TokenStream, errors: &mut Errors) -> syn::Result<RawArgs> {
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
    syn::meta::parser(|meta| {
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

        let Some(key) = meta.path.get_ident().and_then(|name| spec.key(&name.to_string())) else {
            errors.push(unknown_argument(spec, &path, &meta.path));
            return Ok(());
        };
        written.push(key.name);
        // The key and what follows it, for errors about both.
        let mut whole = meta.path.to_token_stream();
        whole.extend(colon.to_token_stream());
        whole.extend(value.to_token_stream());
        whole.extend(list.clone());
        if colon.is_some() {
            errors.push(syn::Error::new_spanned(
                whole,
                format!(
                    "`{}` in `{}` takes `=`, not `:`; write `{}`",
                    key.name, spec.attr, key.example
                ),
            ));
            return Ok(());
        }
        if list.is_some() {
            errors.push(syn::Error::new_spanned(
                whole,
                format!(
                    "`{}` in `{}` is not a list; write `{}`",
                    key.name, spec.attr, key.example
                ),
            ));
            return Ok(());
        }
        if args.iter().any(|arg| arg.key.name == key.name) {
            errors.push(syn::Error::new(
                key_span,
                format!(
                    "duplicate argument `{}` in `{}`; give it once",
                    key.name, spec.attr
                ),
            ));
            return Ok(());
        }
        match (&value, key.flag) {
            (Some(_), true) => {
                errors.push(syn::Error::new_spanned(
                    whole,
                    format!(
                        "`{0}` in `{1}` is a flag and takes no value; write `{0}` alone, or leave it out",
                        key.name, spec.attr
                    ),
                ));
                return Ok(());
            }
            (None, false) => {
                errors.push(syn::Error::new(
                    key_span,
                    format!(
                        "`{}` in `{}` needs a value; write `{}`",
                        key.name, spec.attr, key.example
                    ),
                ));
                return Ok(());
            }
            _ => {}
        }
        args.push(RawArg {
            key,
            key_span,
            value,
        });
        Ok(())
    })
    .parse2(keyed)?;
    Ok(RawArgs { args, written })
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

// ---------------------------------------------------------------------------------------------
// Typed readers. Each takes the raw argument and reports errors on the value's own tokens.
// ---------------------------------------------------------------------------------------------

/// Looks through the invisible groups that `macro_rules!` puts around `$x:expr`.
fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => ungroup(&group.expr),
        other => other,
    }
}

/// A string literal: `name = "broker"`.
pub(crate) fn string(spec: &Spec, arg: &RawArg) -> syn::Result<LitStr> {
    match ungroup(arg.value()?) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "expected a string literal for `{}` in `{}`, like `{}`",
                arg.key.name, spec.attr, arg.key.example
            ),
        )),
    }
}

/// A duration string: `deadline = "30s"`.
pub(crate) fn duration(spec: &Spec, arg: &RawArg) -> syn::Result<(Duration, LitStr)> {
    let lit = string(spec, arg)?;
    match duration::parse(&lit.value()) {
        Ok(duration) => Ok((duration, lit)),
        Err(error) => Err(syn::Error::new(
            lit.span(),
            format!(
                "invalid duration {:?} for `{}` in `{}`: {error}; write a duration like \"30s\", \"1500ms\" or \"1m30s\"",
                lit.value(),
                arg.key.name,
                spec.attr
            ),
        )),
    }
}

/// Like [`duration`], and zero is an error.
pub(crate) fn positive_duration(spec: &Spec, arg: &RawArg) -> syn::Result<(Duration, LitStr)> {
    let (duration, lit) = duration(spec, arg)?;
    if duration.is_zero() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{}` in `{}` must be greater than zero, like `{}`",
                arg.key.name, spec.attr, arg.key.example
            ),
        ));
    }
    Ok((duration, lit))
}

/// An integer literal, optionally negative (`order = -5`), that fits in `T`. A suffix, if
/// any, must be `T`'s own (`10i32`).
pub(crate) fn integer<T>(spec: &Spec, arg: &RawArg, type_name: &str) -> syn::Result<T>
where
    T: TryFrom<i128>,
{
    let expr = ungroup(arg.value()?);
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => (false, lit),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match ungroup(&unary.expr) {
            Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) => (true, lit),
            _ => return Err(not_an_integer(spec, arg, expr)),
        },
        _ => return Err(not_an_integer(spec, arg, expr)),
    };
    check_suffix(spec, arg, lit, type_name)?;
    let out_of_range = || {
        syn::Error::new_spanned(
            expr,
            format!(
                "`{}` in `{}` is out of range for `{type_name}`",
                arg.key.name, spec.attr
            ),
        )
    };
    let magnitude: i128 = lit.base10_parse().map_err(|_| out_of_range())?;
    let value = if negative { -magnitude } else { magnitude };
    T::try_from(value).map_err(|_| out_of_range())
}

fn check_suffix(spec: &Spec, arg: &RawArg, lit: &LitInt, type_name: &str) -> syn::Result<()> {
    if lit.suffix().is_empty() || lit.suffix() == type_name {
        Ok(())
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!(
                "`{}` in `{}` is an `{type_name}`; remove the `{}` suffix",
                arg.key.name,
                spec.attr,
                lit.suffix(),
            ),
        ))
    }
}

fn not_an_integer(spec: &Spec, arg: &RawArg, expr: &Expr) -> syn::Error {
    let quoted_number = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit.value().trim().parse::<i64>().ok(),
        _ => None,
    };
    let hint = match quoted_number {
        Some(number) => format!("write `{} = {number}` without quotes", arg.key.name),
        None => format!("like `{}`", arg.key.example),
    };
    syn::Error::new_spanned(
        expr,
        format!(
            "expected an integer literal for `{}` in `{}`; {hint}",
            arg.key.name, spec.attr
        ),
    )
}

/// A list of string literals: `signals = ["SIGINT", "SIGTERM"]`.
pub(crate) fn string_list(spec: &Spec, arg: &RawArg) -> syn::Result<Vec<LitStr>> {
    let expr = ungroup(arg.value()?);
    let Expr::Array(array) = expr else {
        let hint = match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => format!("write `{} = [{:?}]`", arg.key.name, lit.value()),
            _ => format!("like `{}`", arg.key.example),
        };
        return Err(syn::Error::new_spanned(
            expr,
            format!(
                "expected a list of strings for `{}` in `{}`; {hint}",
                arg.key.name, spec.attr
            ),
        ));
    };
    let mut errors = Errors::default();
    let mut items = Vec::new();
    for element in &array.elems {
        match ungroup(element) {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => items.push(lit.clone()),
            other => errors.push(syn::Error::new_spanned(
                other,
                format!(
                    "expected a string literal in `{}` of `{}`, like `{}`",
                    arg.key.name, spec.attr, arg.key.example
                ),
            )),
        }
    }
    errors.finish()?;
    if items.is_empty() {
        return Err(syn::Error::new_spanned(
            array,
            format!(
                "`{}` in `{}` cannot be empty; list at least one, like `{}`, or leave `{}` out for the default",
                arg.key.name, spec.attr, arg.key.example, arg.key.name
            ),
        ));
    }
    Ok(items)
}

/// `crate = "my::graceful"`: the path under which generated code finds the runtime.
pub(crate) fn crate_path(spec: &Spec, arg: &RawArg) -> syn::Result<syn::Path> {
    let lit = string(spec, arg)?;
    lit.parse_with(syn::Path::parse_mod_style).map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate` in `{}` must be a path to the `graceful` crate, like `crate = \"::graceful\"` or `crate = \"my_deps::graceful\"`",
                spec.attr
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    const SPEC: Spec = Spec {
        attr: "#[test::attr]",
        keys: &[
            Key::value("order", "order = 10"),
            Key::value("timeout", "timeout = \"5s\""),
            Key::flag("always"),
            Key::value("crate", "crate = \"::graceful\""),
        ],
        hints: &[("deadline", "timeout")],
        unnamed_integer: Some("order"),
    };

    fn parse_ok(tokens: TokenStream) -> RawArgs {
        let mut errors = Errors::default();
        let args = parse(&SPEC, tokens, &mut errors).expect("syntax");
        if let Err(error) = errors.finish() {
            panic!("unexpected error: {error}");
        }
        args
    }

    fn messages(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        match parse(&SPEC, tokens, &mut errors) {
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
            Ok(_) => match errors.finish() {
                Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
                Ok(()) => Vec::new(),
            },
        }
    }

    #[test]
    fn accepts_keys_flags_and_the_crate_keyword() {
        let args = parse_ok(quote!(
            order = -5,
            timeout = "5s",
            always,
            crate = "my::graceful"
        ));
        assert_eq!(args.args.len(), 4);
        assert!(args.get("always").is_some_and(|arg| arg.value.is_none()));
        assert_eq!(
            integer::<i32>(&SPEC, args.get("order").unwrap(), "i32").unwrap(),
            -5
        );
        let path = crate_path(&SPEC, args.get("crate").unwrap()).unwrap();
        assert_eq!(quote!(#path).to_string(), "my :: graceful");
        assert!(parse_ok(TokenStream::new()).args.is_empty());
    }

    #[test]
    fn reports_every_independent_problem() {
        assert_eq!(
            messages(quote!(order = 1, ordr = 2, order = 3, always = true, timeout, deadline = "1s")),
            [
                "unknown argument `ordr` in `#[test::attr]`; did you mean `order`? expected one of `order`, `timeout`, `always`, `crate`",
                "duplicate argument `order` in `#[test::attr]`; give it once",
                "`always` in `#[test::attr]` is a flag and takes no value; write `always` alone, or leave it out",
                "`timeout` in `#[test::attr]` needs a value; write `timeout = \"5s\"`",
                "unknown argument `deadline` in `#[test::attr]`; did you mean `timeout`? expected one of `order`, `timeout`, `always`, `crate`",
            ]
        );
        assert_eq!(
            messages(quote!(order(10))),
            ["`order` in `#[test::attr]` is not a list; write `order = 10`"]
        );
        assert_eq!(
            messages(quote!(foo::bar = 1)),
            ["unknown argument `foo::bar` in `#[test::attr]`; expected one of `order`, `timeout`, `always`, `crate`"]
        );
    }

    #[test]
    fn broken_syntax_fails_outright() {
        assert_eq!(messages(quote!(order = 1 timeout = "1s")), ["expected `,`"]);
        assert_eq!(messages(quote!(order == 1)), ["expected an expression"]);
    }

    #[test]
    fn a_value_without_its_key_is_one_error_and_the_rest_is_read() {
        let expected = "expected one of `order`, `timeout`, `always`, `crate`";
        assert_eq!(
            messages(quote!(10)),
            ["arguments of `#[test::attr]` are named: write `order = 10`"]
        );
        // The other arguments are still read: their own problems are reported too.
        assert_eq!(
            messages(quote!(-10, always, always)),
            [
                "arguments of `#[test::attr]` are named: write `order = -10`",
                "duplicate argument `always` in `#[test::attr]`; give it once"
            ]
        );
        let mut errors = Errors::default();
        let args = parse(&SPEC, quote!(always, -10, timeout = "1s"), &mut errors).expect("syntax");
        assert!(errors.finish().is_err());
        let keys: Vec<&str> = args.args.iter().map(|arg| arg.key.name).collect();
        assert_eq!(keys, ["always", "timeout"]);
        // The integer stood for `order`: it is not also missing.
        assert!(args.written("order"));
        assert_eq!(
            messages(quote!("5s", always)),
            [format!(
                "arguments of `#[test::attr]` are named, like `order = 10`; {expected}"
            )]
        );
    }

    #[test]
    fn a_colon_instead_of_equals_is_one_error() {
        assert_eq!(
            messages(quote!(order: 10, always)),
            ["`order` in `#[test::attr]` takes `=`, not `:`; write `order = 10`"]
        );
        let mut errors = Errors::default();
        let args = parse(&SPEC, quote!(order: 10), &mut errors).expect("syntax");
        assert!(args.written("order"));
        assert_eq!(
            messages(quote!(ordr: 10)),
            ["unknown argument `ordr` in `#[test::attr]`; did you mean `order`? expected one of `order`, `timeout`, `always`, `crate`"]
        );
    }

    #[test]
    fn integers() {
        let read = |tokens: TokenStream| {
            let args = parse_ok(tokens);
            integer::<i32>(&SPEC, &args.args[0], "i32").map_err(|e| e.to_string())
        };
        assert_eq!(read(quote!(order = 10)), Ok(10));
        assert_eq!(read(quote!(order = -2147483648)), Ok(i32::MIN));
        assert_eq!(read(quote!(order = 10i32)), Ok(10));
        assert_eq!(
            read(quote!(order = 2147483648)),
            Err("`order` in `#[test::attr]` is out of range for `i32`".to_owned())
        );
        assert_eq!(
            read(quote!(order = 10u8)),
            Err("`order` in `#[test::attr]` is an `i32`; remove the `u8` suffix".to_owned())
        );
        assert_eq!(
            read(quote!(order = "10")),
            Err("expected an integer literal for `order` in `#[test::attr]`; write `order = 10` without quotes".to_owned())
        );
        assert_eq!(
            read(quote!(order = LATE)),
            Err(
                "expected an integer literal for `order` in `#[test::attr]`; like `order = 10`"
                    .to_owned()
            )
        );
        assert_eq!(
            read(quote!(order = 1.5)),
            Err(
                "expected an integer literal for `order` in `#[test::attr]`; like `order = 10`"
                    .to_owned()
            )
        );
    }

    #[test]
    fn durations() {
        let read = |tokens: TokenStream| {
            let args = parse_ok(tokens);
            positive_duration(&SPEC, &args.args[0])
                .map(|(duration, _)| duration)
                .map_err(|e| e.to_string())
        };
        assert_eq!(read(quote!(timeout = "1m30s")), Ok(Duration::from_secs(90)));
        assert_eq!(
            read(quote!(timeout = "soon")),
            Err("invalid duration \"soon\" for `timeout` in `#[test::attr]`: expected a number, found `soon`; write a duration like \"30s\", \"1500ms\" or \"1m30s\"".to_owned())
        );
        assert_eq!(
            read(quote!(timeout = "0ms")),
            Err(
                "`timeout` in `#[test::attr]` must be greater than zero, like `timeout = \"5s\"`"
                    .to_owned()
            )
        );
        assert_eq!(
            read(quote!(timeout = 5)),
            Err("expected a string literal for `timeout` in `#[test::attr]`, like `timeout = \"5s\"`".to_owned())
        );
    }
}
