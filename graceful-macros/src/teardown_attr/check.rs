//! Stage 2 of `#[graceful::teardown]`: the keys it accepts, the typed [`Hook`] read from the
//! raw arguments, and the checks of the function: a free function whose parameters can be
//! extracted by their type.
//!
//! Whatever is wrong goes to the errors and its default is used, so that the other arguments
//! and the function are still checked and reported in the same compile.

use std::time::Duration;

use proc_macro2::Span;
use syn::{FnArg, ItemFn, LitStr, Signature, Type};

use crate::args::{read, Key, RawArg, RawArgs, Spec};
use crate::errors::Errors;
use crate::valid::{self, Stacked};

const ATTR: &str = "#[graceful::teardown]";

/// The keys `#[graceful::teardown]` accepts, next to [`hook`], which reads each of them. The
/// pipeline in `mod.rs` parses with it; were it there, this file would import the module
/// that imports it.
pub(super) const SPEC: Spec = Spec {
    attr: ATTR,
    keys: &[
        Key::value("order", "order = 10"),
        Key::value("timeout", "timeout = \"5s\""),
        Key::value("name", "name = \"http server\""),
        Key::flag("always"),
        Key::value("crate", "crate = \"::graceful\""),
    ],
    hints: &[
        ("priority", "order"),
        ("stage", "order"),
        ("phase", "order"),
        ("deadline", "timeout"),
        ("label", "name"),
    ],
    unnamed_integer: Some("order"),
};

/// The validated arguments.
#[derive(Default)]
pub(super) struct Hook {
    pub(super) order: i32,
    pub(super) timeout: Option<Duration>,
    pub(super) name: Option<LitStr>,
    pub(super) always: bool,
    pub(super) crate_path: Option<syn::Path>,
}

/// The typed values. Whatever is wrong goes to `errors`, and its default is used.
pub(super) fn hook(raw: &RawArgs, errors: &mut Errors) -> Hook {
    let order = match raw.get("order") {
        Some(arg) => errors
            .ok(read::integer::<i32>(&SPEC, arg, "i32"))
            .unwrap_or_default(),
        // Misused, and already reported.
        None if raw.written("order") => 0,
        None => {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!(
                    "missing `order` in `{ATTR}`: hooks run in ascending `order`, those with the \
                     same `order` together; write `#[graceful::teardown(order = 10)]`"
                ),
            ));
            0
        }
    };
    Hook {
        order,
        timeout: raw
            .get("timeout")
            .and_then(|arg| errors.ok(read::positive_duration(&SPEC, arg)))
            .map(|(duration, _)| duration),
        name: raw.get("name").and_then(|arg| errors.ok(name(arg))),
        always: raw.get("always").is_some(),
        crate_path: raw
            .get("crate")
            .and_then(|arg| errors.ok(read::crate_path(&SPEC, arg))),
    }
}

fn name(arg: &RawArg) -> syn::Result<LitStr> {
    let lit = read::string(&SPEC, arg)?;
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`name` in `{ATTR}` cannot be empty; give a name, like `{}`, or leave `name` out \
                 to use the function's path",
                arg.key.example
            ),
        ));
    }
    Ok(lit)
}

/// The error for an item that is not a function at all.
pub(super) fn not_a_function() -> syn::Error {
    syn::Error::new(
        Span::call_site(),
        format!(
            "`{ATTR}` can only be applied to a function, like \
             `#[graceful::teardown(order = 10)] async fn stop_http() {{ ... }}`"
        ),
    )
}

/// The function: a free function whose parameters can be extracted, and not the entry point
/// or a hook already. Returns the parameter types.
pub(super) fn function(
    function: &ItemFn,
    crate_path: Option<&syn::Path>,
    errors: &mut Errors,
) -> Vec<Type> {
    let parameters = signature(&function.sig, errors);
    valid::check_stacked(&function.attrs, crate_path, errors, stacked);
    parameters
}

fn signature(sig: &Signature, errors: &mut Errors) -> Vec<Type> {
    valid::plain_fn(ATTR, sig, errors);
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                format!(
                    "`{ATTR}` cannot be applied to a method; make it a free function and take what it needs \
                     as parameters, like `server: graceful::State<Server>`"
                ),
            )),
            FnArg::Typed(typed) => match check_parameter(&typed.ty) {
                Ok(()) => types.push((*typed.ty).clone()),
                Err(error) => errors.push(error),
            },
        }
    }
    types
}

/// Parameters are extracted by value, by their type: `impl Trait` and references cannot be.
fn check_parameter(ty: &Type) -> syn::Result<()> {
    match ty {
        Type::Group(group) => check_parameter(&group.elem),
        Type::Paren(paren) => check_parameter(&paren.elem),
        Type::ImplTrait(_) => Err(syn::Error::new_spanned(
            ty,
            format!(
                "`impl Trait` parameters are not supported by `{ATTR}`: each parameter is \
                 extracted by its type; name the type, like `graceful::Context` or \
                 `graceful::State<MyType>`"
            ),
        )),
        Type::Reference(_) => Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{ATTR}` parameters are extracted by value; remove the `&` \
                 (`graceful::State<T>` derefs to `T`)"
            ),
        )),
        _ => Ok(()),
    }
}

/// An entry point is not a hook, and a hook is registered once.
fn stacked(kind: Stacked, written: &str) -> String {
    match kind {
        Stacked::Main | Stacked::OtherMain => format!(
            "`{ATTR}` cannot be applied to the program's entry point `#[{written}]`: the hooks run \
             when it has ended; put the cleanup in a function of its own"
        ),
        Stacked::Teardown => format!(
            "`{ATTR}` is applied twice to this function, which would run it twice; keep one"
        ),
    }
}
