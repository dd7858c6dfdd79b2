//! Unit tests of `#[graceful::teardown]`: the expansion, and each error with its message and
//! the tokens it points at.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{teardown, try_expand};
use crate::test_util::{self, error_spans, errors, item, messages, text, tokens};

fn expand_str(args: &str, function: &str) -> syn::Result<TokenStream> {
    try_expand(tokens(args), &item(function))
}

#[test]
fn async_hook_with_extractors() {
    let expanded = expand_str(
        r#"order = 20, timeout = "5s", name = "broker", always"#,
        "async fn unplug(ctx: graceful::Context, mut b: graceful::State<Broker>) -> anyhow::Result<()> { Ok(()) }",
    )
    .unwrap();
    let expected = quote! {
        #[allow(clippy::unused_async, clippy::needless_pass_by_value)]
        async fn unplug(ctx: graceful::Context, mut b: graceful::State<Broker>) -> anyhow::Result<()> { Ok(()) }
        ::graceful::__private::inventory::submit! {
            ::graceful::__private::Hook::new(
                "broker",
                20,
                ::graceful::__private::HookFn::Async(|ctx| ::std::boxed::Box::pin(async move {
                    let arg0 = <graceful::Context as ::graceful::__private::Extract>::extract(&ctx)?;
                    let arg1 = <graceful::State<Broker> as ::graceful::__private::Extract>::extract(&ctx)?;
                    <anyhow::Result<()> as ::graceful::__private::IntoHookResult>::into_hook_result(unplug(arg0, arg1).await)
                }))
            )
            .states(&[
                <graceful::Context as ::graceful::__private::Extract>::STATE,
                <graceful::State<Broker> as ::graceful::__private::Extract>::STATE
            ])
            .timeout(::core::time::Duration::new(5, 0))
            .always()
        }
    };
    assert_eq!(text(&expanded), text(&expected));
}

#[test]
fn sync_hook_without_parameters() {
    let expanded = expand_str("order = -5", "fn remove_temp_files() {}").unwrap();
    let expected = quote! {
        #[allow(clippy::unused_async, clippy::needless_pass_by_value)]
        fn remove_temp_files() {}
        ::graceful::__private::inventory::submit! {
            ::graceful::__private::Hook::new(
                ::core::concat!(::core::module_path!(), "::", "remove_temp_files"),
                -5,
                ::graceful::__private::HookFn::Blocking(|_| {
                    ::graceful::__private::IntoHookResult::into_hook_result(remove_temp_files())
                })
            )
        }
    };
    assert_eq!(text(&expanded), text(&expected));
}

#[test]
fn crate_path_and_raw_names() {
    let expanded = expand_str(
        r#"order = 2147483647, crate = "deps::graceful""#,
        "fn r#type(_: Context) -> impl Display { 1 }",
    )
    .unwrap();
    let expected = quote! {
        #[allow(clippy::unused_async, clippy::needless_pass_by_value)]
        fn r#type(_: Context) -> impl Display { 1 }
        deps::graceful::__private::inventory::submit! {
            deps::graceful::__private::Hook::new(
                ::core::concat!(::core::module_path!(), "::", "type"),
                2_147_483_647,
                deps::graceful::__private::HookFn::Blocking(|ctx| {
                    let arg0 = <Context as deps::graceful::__private::Extract>::extract(&ctx)?;
                    {
                        let output = r#type(arg0);
                        deps::graceful::__private::IntoHookResult::into_hook_result(output)
                    }
                })
            )
            .states(&[<Context as deps::graceful::__private::Extract>::STATE])
        }
    };
    assert_eq!(text(&expanded), text(&expected));
}

#[test]
fn order_is_required_and_an_integer() {
    assert_eq!(
        errors(expand_str(r#"timeout = "1s""#, "fn f() {}")),
        [(
            "missing `order` in `#[graceful::teardown]`: hooks run in ascending `order`, those with the same \
             `order` together; write `#[graceful::teardown(order = 10)]`"
                .to_owned(),
            String::new()
        )]
    );
    assert_eq!(
        errors(expand_str("-10", "fn f() {}")),
        [(
            "arguments of `#[graceful::teardown]` are named: write `order = -10`".to_owned(),
            "-10".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str("10, always", "fn f() {}")),
        [(
            "arguments of `#[graceful::teardown]` are named: write `order = 10`".to_owned(),
            "10".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str("order: 10", "fn f() {}")),
        [(
            "`order` in `#[graceful::teardown]` takes `=`, not `:`; write `order = 10`".to_owned(),
            "order: 10".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str(r#"order = "10""#, "fn f() {}")),
        [(
            "expected an integer literal for `order` in `#[graceful::teardown]`; write `order = 10` without quotes"
                .to_owned(),
            "\"10\"".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str("order = 3000000000", "fn f() {}")),
        ["`order` in `#[graceful::teardown]` is out of range for `i32`"]
    );
    assert_eq!(
        messages(expand_str("order = LATE", "fn f() {}")),
        ["expected an integer literal for `order` in `#[graceful::teardown]`; like `order = 10`"]
    );
}

#[test]
fn a_misused_order_is_not_also_missing() {
    assert_eq!(
        messages(expand_str("order(10)", "fn f() {}")),
        ["`order` in `#[graceful::teardown]` is not a list; write `order = 10`"]
    );
    assert_eq!(
        messages(expand_str("order", "fn f() {}")),
        ["`order` in `#[graceful::teardown]` needs a value; write `order = 10`"]
    );
}

#[test]
fn other_arguments() {
    assert_eq!(
        errors(expand_str("order = 1, always = true", "fn f() {}")),
        [(
            "`always` in `#[graceful::teardown]` is a flag and takes no value; write `always` alone, or leave it out"
                .to_owned(),
            "always = true".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str(r#"order = 1, timeout = "0s", name = " ""#, "fn f() {}")),
        [
            (
                "`timeout` in `#[graceful::teardown]` must be greater than zero, like `timeout = \"5s\"`".to_owned(),
                "\"0s\"".to_owned()
            ),
            (
                "`name` in `#[graceful::teardown]` cannot be empty; give a name, like `name = \"http server\"`, \
                 or leave `name` out to use the function's path"
                    .to_owned(),
                "\" \"".to_owned()
            ),
        ]
    );
    assert_eq!(
        errors(expand_str(r#"order = 1, name = """#, "fn f() {}")),
        [(
            "`name` in `#[graceful::teardown]` cannot be empty; give a name, like `name = \"http server\"`, \
             or leave `name` out to use the function's path"
                .to_owned(),
            "\"\"".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str(
            "order = 1, timout = \"1s\", order = 2",
            "fn f() {}"
        )),
        [
            "unknown argument `timout` in `#[graceful::teardown]`; did you mean `timeout`? \
             expected one of `order`, `timeout`, `name`, `always`, `crate`",
            "duplicate argument `order` in `#[graceful::teardown]`; give it once",
        ]
    );
}

#[test]
fn signature_problems_each_on_their_token() {
    assert_eq!(
        error_spans(expand_str(
            "order = 1",
            "const unsafe extern \"C\" fn f<T: Copy>(&self, a: impl Send, b: &Context, c: (impl Sync)) {}"
        )),
        ["const", "unsafe", "extern \"C\"", "<T: Copy>", "&self", "impl Send", "&Context", "impl Sync"]
    );
    assert_eq!(
        messages(expand_str("order = 1", "fn f(&self) {}")),
        ["`#[graceful::teardown]` cannot be applied to a method; make it a free function and take what it \
          needs as parameters, like `server: graceful::State<Server>`"]
    );
    assert_eq!(
        messages(expand_str("order = 1", "async fn f(x: impl Send) {}")),
        ["`impl Trait` parameters are not supported by `#[graceful::teardown]`: each parameter is extracted \
          by its type; name the type, like `graceful::Context` or `graceful::State<MyType>`"]
    );
    assert_eq!(
        messages(expand_str("order = 1", "async fn f(x: &Context) {}")),
        [
            "`#[graceful::teardown]` parameters are extracted by value; remove the `&` \
          (`graceful::State<T>` derefs to `T`)"
        ]
    );
}

#[test]
fn a_hook_is_registered_once_and_is_not_an_entry_point() {
    assert_eq!(
        errors(expand_str(
            "order = 1",
            "#[graceful::teardown(order = 2)] fn flush() {}"
        )),
        [(
            "`#[graceful::teardown]` is applied twice to this function, which would run it twice; keep one"
                .to_owned(),
            "#[graceful::teardown(order = 2)]".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str("order = 1", "#[graceful::main] async fn main() {}")),
        [(
            "`#[graceful::teardown]` cannot be applied to the program's entry point `#[graceful::main]`: \
             the hooks run when it has ended; put the cleanup in a function of its own"
                .to_owned(),
            "#[graceful::main]".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str("order = 1", "#[tokio::main] async fn main() {}")),
        ["`#[graceful::teardown]` cannot be applied to the program's entry point `#[tokio::main]`: \
          the hooks run when it has ended; put the cleanup in a function of its own"]
    );
    assert!(expand_str(
        "order = 1",
        "#[doc = \"Docs.\"] #[allow(unused)] fn flush() {}"
    )
    .is_ok());
}

#[test]
fn an_impl_trait_return_type_is_blamed_at_that_type() {
    /// The span of the first `name` in `tokens`, however deep.
    fn find(tokens: TokenStream, name: &str) -> Option<Span> {
        tokens.into_iter().find_map(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) if ident == name => Some(ident.span()),
            proc_macro2::TokenTree::Group(group) => find(group.stream(), name),
            _ => None,
        })
    }
    for (function, return_type) in [
        ("fn f() -> impl Display { 1 }", "impl Display"),
        (
            "async fn f() -> Result<(), impl Display> { Ok::<(), u8>(()) }",
            "Result<(), impl Display>",
        ),
    ] {
        let expanded = expand_str("order = 1", function).unwrap();
        // The hook's value is bound to a name located at the return type, so that
        // "`impl Display: IntoHookResult` is not satisfied" points there.
        let output = find(expanded, "output").expect("a binding of the value");
        assert_eq!(
            output.source_text().as_deref(),
            Some(return_type),
            "{function}"
        );
    }
}

#[test]
fn misuse_keeps_the_function_as_written() {
    let out = teardown(TokenStream::new(), tokens("fn f(&self) {}"));
    let expected = quote! {
        fn f(&self) {}
        ::core::compile_error! {
            "missing `order` in `#[graceful::teardown]`: hooks run in ascending `order`, those with the same `order` together; write `#[graceful::teardown(order = 10)]`"
        }
        ::core::compile_error! {
            "`#[graceful::teardown]` cannot be applied to a method; make it a free function and take what it needs as parameters, like `server: graceful::State<Server>`"
        }
    };
    assert_eq!(text(&out), text(&expected));

    let out = teardown(tokens("order = 1"), tokens("struct S;"));
    assert!(text(&out).starts_with("struct S ; :: core :: compile_error !"));
}

#[test]
fn never_panics_on_odd_input() {
    let args = [
        "",
        "order",
        "order =",
        "order = -",
        "order = --1",
        "order = -(1)",
        "order = 1, name",
        "order = 1, name = \"\"",
        "order = 1, timeout = \"99999999999999999999999h\"",
        "order = 1, crate = \"\"",
        "order = 1, always(x)",
        "- 1",
        "1.5",
        "a::b = 1",
        ",",
    ];
    let items = [
        "fn f() {}",
        "async fn f(_: A, (a, b): (B, C), mut d: D) -> Result<(), E> { Ok(()) }",
        "fn f(self: Box<Self>) {}",
        "fn f(...) {}",
        "struct S;",
        "",
    ];
    test_util::never_panics(teardown, &args, &items);
}
