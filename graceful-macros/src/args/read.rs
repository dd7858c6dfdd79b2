//! Typed readers for the values of raw arguments: a string, a duration, an integer, a list
//! of strings, the `crate` path. Stage 2 of each attribute reads its arguments with them.
//!
//! Each reports a wrong value on the value's own tokens and says what to write instead,
//! naming the key and the attribute from the [`Spec`].

use std::time::Duration;

use syn::{Expr, ExprLit, Lit, LitInt, LitStr, UnOp};

use super::{RawArg, Spec};
use crate::errors::Errors;
use crate::shared::duration;

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
                "invalid duration {:?} for `{}` in `{}`: {error}; write a duration like \"30s\", \
                 \"1500ms\" or \"1m30s\"",
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
                "`{}` in `{}` cannot be empty; list at least one, like `{}`, or leave `{}` out \
                 for the default",
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
                "`crate` in `{}` must be a path to the `graceful` crate, like \
                 `crate = \"::graceful\"` or `crate = \"my_deps::graceful\"`",
                spec.attr
            ),
        )
    })
}
