//! Stage 2, the part both attributes share: the checks of the function that do not depend on
//! the attribute. Its signature has nothing unusual (no `const`, `unsafe`, `extern`,
//! generics), and no attribute that cannot go with this one is stacked on it; each attribute
//! words the conflict in its own terms, so the detection is here and the message there.

use syn::{Attribute, Path, Signature};

use crate::errors::Errors;

/// Rejects `const`, `unsafe`, `extern`, generics, a `where` clause and C variadics, each on
/// its own token.
pub(crate) fn plain_fn(attr: &str, sig: &Signature, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            format!("`{attr}` cannot be applied to a `const fn`; remove `const`"),
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            format!(
                "`{attr}` cannot be applied to an `unsafe fn`; remove `unsafe` and use an \
                 `unsafe` block inside"
            ),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            format!("`{attr}` cannot be applied to an `extern` function; remove the ABI"),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!(
                "`{attr}` cannot be applied to a generic function; remove the generic parameters"
            ),
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            format!("`{attr}` cannot be applied to a function with a `where` clause; remove it"),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            format!("`{attr}` cannot be applied to a variadic function; remove `...`"),
        ));
    }
}

/// An attribute on the same function that cannot go with graceful's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stacked {
    /// `#[graceful::main]`.
    Main,
    /// Another crate's entry point: `#[tokio::main]`, `#[actix_web::main]`.
    OtherMain,
    /// `#[graceful::teardown]`.
    Teardown,
}

/// What `attr` is, if it is one of [`Stacked`]. graceful's own attributes are told by their
/// path: `graceful::main`, `::graceful::main`, `deps::graceful::main`, or the `crate = "..."`
/// path followed by `main` or `teardown`.
pub(crate) fn stacked(attr: &Attribute, crate_path: Option<&Path>) -> Option<Stacked> {
    let segments: Vec<String> = idents(attr.path());
    let (last, prefix) = segments.split_last()?;
    let ours = prefix.last().is_some_and(|segment| segment == "graceful")
        || crate_path.is_some_and(|path| idents(path) == prefix);
    match last.as_str() {
        "main" if ours => Some(Stacked::Main),
        "main" if !prefix.is_empty() => Some(Stacked::OtherMain),
        "teardown" if ours => Some(Stacked::Teardown),
        _ => None,
    }
}

/// Reports each attribute of `attrs` that cannot go with this one, on its own tokens, with
/// the message `conflict` gives for its kind and its path as written.
pub(crate) fn check_stacked(
    attrs: &[Attribute],
    crate_path: Option<&Path>,
    errors: &mut Errors,
    conflict: impl Fn(Stacked, &str) -> String,
) {
    for attr in attrs {
        let Some(kind) = stacked(attr, crate_path) else {
            continue;
        };
        let written = idents(attr.path()).join("::");
        errors.push(syn::Error::new_spanned(attr, conflict(kind, &written)));
    }
}

fn idents(path: &Path) -> Vec<String> {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;

    use super::*;
    use crate::test_util::{errors, item};

    #[test]
    fn a_plain_fn_has_nothing_unusual_each_reported_on_its_token() {
        let function = item("const unsafe extern \"C\" fn f<T>(a: T, ...) where T: Copy {}");
        let mut found = Errors::default();
        plain_fn("#[x]", &function.sig, &mut found);
        let expected = [
            (
                "`#[x]` cannot be applied to a `const fn`; remove `const`",
                "const",
            ),
            (
                "`#[x]` cannot be applied to an `unsafe fn`; remove `unsafe` and use an `unsafe` \
                 block inside",
                "unsafe",
            ),
            (
                "`#[x]` cannot be applied to an `extern` function; remove the ABI",
                "extern \"C\"",
            ),
            (
                "`#[x]` cannot be applied to a generic function; remove the generic parameters",
                "<T>",
            ),
            (
                "`#[x]` cannot be applied to a function with a `where` clause; remove it",
                "where T: Copy",
            ),
            (
                "`#[x]` cannot be applied to a variadic function; remove `...`",
                "...",
            ),
        ]
        .map(|(message, at)| (message.to_owned(), at.to_owned()));
        assert_eq!(
            errors(found.finish().map(|()| TokenStream::new())),
            expected
        );

        let mut found = Errors::default();
        plain_fn(
            "#[x]",
            &item("async fn f(a: u8) -> u8 { a }").sig,
            &mut found,
        );
        assert!(found.finish().is_ok());
    }

    fn kind(attr: &str, crate_path: Option<&str>) -> Option<Stacked> {
        let attrs = match syn::parse_str::<syn::ItemFn>(&format!("{attr} fn f() {{}}")) {
            Ok(function) => function.attrs,
            Err(error) => panic!("bad test attribute {attr:?}: {error}"),
        };
        let crate_path = crate_path.map(|path| match syn::parse_str::<Path>(path) {
            Ok(path) => path,
            Err(error) => panic!("bad test path {path:?}: {error}"),
        });
        stacked(&attrs[0], crate_path.as_ref())
    }

    #[test]
    fn tells_entry_points_and_hooks_from_other_attributes() {
        assert_eq!(kind("#[graceful::main]", None), Some(Stacked::Main));
        assert_eq!(
            kind("#[::graceful::main(deadline = \"5s\")]", None),
            Some(Stacked::Main)
        );
        assert_eq!(kind("#[deps::graceful::main]", None), Some(Stacked::Main));
        assert_eq!(
            kind("#[shutdown::main]", Some("shutdown")),
            Some(Stacked::Main)
        );
        assert_eq!(kind("#[tokio::main]", None), Some(Stacked::OtherMain));
        assert_eq!(kind("#[shutdown::main]", None), Some(Stacked::OtherMain));
        assert_eq!(
            kind("#[graceful::teardown(order = 1)]", None),
            Some(Stacked::Teardown)
        );
        assert_eq!(
            kind("#[shutdown::teardown(order = 1)]", Some("::shutdown")),
            Some(Stacked::Teardown)
        );
        // Not graceful's, or not an entry point.
        assert_eq!(kind("#[shutdown::teardown(order = 1)]", None), None);
        assert_eq!(kind("#[main]", None), None);
        assert_eq!(kind("#[doc = \"main\"]", None), None);
        assert_eq!(kind("#[allow(unused)]", None), None);
        assert_eq!(kind("#[tracing::instrument]", None), None);
    }
}
