//! Stage 2, shared part: the function signature checks both attributes make.

use syn::Signature;

use crate::args::Errors;

/// Rejects `const`, `unsafe`, `extern`, generics, a `where` clause and C variadics, each on
/// its own token.
pub(crate) fn plain_fn(attr: &str, sig: &Signature, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            format!("`{attr}` cannot be applied to a `const fn`; remove `const`"),
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            format!("`{attr}` cannot be applied to an `unsafe fn`; remove `unsafe` and use an `unsafe` block inside"),
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
