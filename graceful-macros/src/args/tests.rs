//! Unit tests of stage 1 and the readers, against a spec made for them.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::quote;

use super::read::{crate_path, integer, positive_duration};
use super::{parse, Key, RawArgs, Spec};
use crate::errors::Errors;

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
    let args = parse(&SPEC, tokens, &mut errors);
    if let Err(error) = errors.finish() {
        panic!("unexpected error: {error}");
    }
    args.expect("syntax")
}

fn messages(tokens: TokenStream) -> Vec<String> {
    let mut errors = Errors::default();
    parse(&SPEC, tokens, &mut errors);
    match errors.finish() {
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        Ok(()) => Vec::new(),
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
fn a_crate_path_that_is_no_path() {
    for value in [
        quote!(crate = ""),
        quote!(crate = "a b"),
        quote!(crate = "::"),
    ] {
        let args = parse_ok(value);
        assert_eq!(
            crate_path(&SPEC, &args.args[0])
                .map_err(|e| e.to_string())
                .err(),
            Some(
                "`crate` in `#[test::attr]` must be a path to the `graceful` crate, like \
                 `crate = \"::graceful\"` or `crate = \"my_deps::graceful\"`"
                    .to_owned()
            )
        );
    }
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
    // No arguments at all, not the ones read before the error.
    let mut errors = Errors::default();
    assert!(parse(&SPEC, quote!(order = 1 timeout = "1s"), &mut errors).is_none());
    assert!(errors.finish().is_err());
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
        Err(
            "expected a string literal for `timeout` in `#[test::attr]`, like `timeout = \"5s\"`"
                .to_owned()
        )
    );
}
