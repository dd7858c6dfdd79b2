//! Unit tests of `#[graceful::main]`: the expansion, and each error with its message and
//! the tokens it points at.

use proc_macro2::TokenStream;
use quote::quote;

use super::{main, try_expand};
use crate::test_util::{self, error_spans, errors, item, messages, text, tokens};

fn expand_str(args: &str, function: &str) -> syn::Result<TokenStream> {
    try_expand(tokens(args), &item(function))
}

#[test]
fn expands_defaults_to_a_bare_config() {
    let expanded = expand_str("", "async fn main() { body().await }").unwrap();
    let expected = quote! {
        fn main() {
            #[allow(clippy::unused_async)]
            async fn main() { body().await }
            ::graceful::__private::Main::new().run(main())
        }
    };
    assert_eq!(text(&expanded), text(&expected));
}

#[test]
fn expands_every_argument_in_order() {
    let expanded = expand_str(
        r#"on_task_panic = "continue", tasks_order = -3, worker_threads = 4,
           signals = ["SIGTERM", "SIGHUP", "ctrl_c"], drain_delay = "1500ms", deadline = "1m30s",
           crate = "my::graceful""#,
        "/// Docs.\n#[allow(unused)]\npub async fn main() -> Result<(), Error> { Ok(()) }",
    )
    .unwrap();
    let expected = quote! {
        #[doc = " Docs."]
        #[allow(unused)]
        pub fn main() {
            #[allow(clippy::unused_async)]
            async fn main() -> Result<(), Error> { Ok(()) }
            my::graceful::__private::Main::new()
                .deadline(::core::time::Duration::new(90, 0))
                .drain_delay(::core::time::Duration::new(1, 500_000_000))
                .signals([
                    my::graceful::__private::Signal::Terminate,
                    my::graceful::__private::Signal::Hangup,
                    my::graceful::__private::Signal::CtrlC
                ])
                .worker_threads(4)
                .tasks_order(-3)
                .on_task_panic(my::graceful::__private::TaskPanic::Continue)
                .run(main())
        }
    };
    assert_eq!(text(&expanded), text(&expected));
}

#[test]
fn current_thread_and_multi_thread() {
    let expanded = expand_str(r#"flavor = "current_thread""#, "async fn main() {}").unwrap();
    assert!(
        text(&expanded).contains(". flavor (:: graceful :: __private :: Flavor :: CurrentThread)")
    );
    let expanded = expand_str(r#"flavor = "multi_thread""#, "async fn main() {}").unwrap();
    assert!(!text(&expanded).contains("flavor"));
}

#[test]
fn keeps_any_function_name() {
    let expanded = expand_str("", "async fn start() {}").unwrap();
    let text = text(&expanded);
    assert!(text.starts_with("fn start ()"), "{text}");
    assert!(text.contains("async fn start ()"), "{text}");
    assert!(text.ends_with(". run (start ()) }"), "{text}");
}

#[test]
fn unknown_argument_suggests_the_nearest() {
    assert_eq!(
        errors(expand_str(r#"dedline = "30s""#, "async fn main() {}")),
        [(
            "unknown argument `dedline` in `#[graceful::main]`; did you mean `deadline`? expected one of \
             `deadline`, `drain_delay`, `signals`, `flavor`, `worker_threads`, `tasks_order`, \
             `on_task_panic`, `upgrade`, `crate`"
                .to_owned(),
            "dedline".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str("current_thread", "async fn main() {}")),
        ["unknown argument `current_thread` in `#[graceful::main]`; did you mean `flavor = \"current_thread\"`? \
          expected one of `deadline`, `drain_delay`, `signals`, `flavor`, `worker_threads`, `tasks_order`, \
          `on_task_panic`, `upgrade`, `crate`"]
    );
}

#[test]
fn bad_durations() {
    assert_eq!(
        errors(expand_str(r#"deadline = "0s""#, "async fn main() {}")),
        [(
            "`deadline` in `#[graceful::main]` must be greater than zero, like `deadline = \"30s\"`".to_owned(),
            "\"0s\"".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str(r#"deadline = "soon", drain_delay = "3 parsecs""#, "async fn main() {}")),
        [
            "invalid duration \"soon\" for `deadline` in `#[graceful::main]`: expected a number, found `soon`; \
             write a duration like \"30s\", \"1500ms\" or \"1m30s\"",
            "invalid duration \"3 parsecs\" for `drain_delay` in `#[graceful::main]`: unknown unit `parsecs`; \
             expected one of `h`, `m`, `s`, `ms`, `us`, `ns`; write a duration like \"30s\", \"1500ms\" or \"1m30s\"",
        ]
    );
    assert_eq!(
        error_spans(expand_str(
            r#"deadline = "-5s", drain_delay = """#,
            "async fn main() {}"
        )),
        ["\"-5s\"", "\"\""]
    );
    // Zero is a fine drain delay.
    assert!(expand_str(r#"drain_delay = "0s""#, "async fn main() {}").is_ok());
}

#[test]
fn a_deadline_over_a_year_is_refused_at_compile_time() {
    assert_eq!(
        errors(expand_str(r#"deadline = "8761h", drain_delay = "1h""#, "async fn main() {}")),
        [(
            "`deadline` (\"8761h\") in `#[graceful::main]` is longer than a year: no orchestrator waits that long; \
             give the grace period the process really gets, like `deadline = \"30s\"`"
                .to_owned(),
            "\"8761h\"".to_owned()
        )]
    );
    assert!(expand_str(r#"deadline = "8760h""#, "async fn main() {}").is_ok());
}

#[test]
fn drain_delay_must_be_shorter_than_the_deadline() {
    assert_eq!(
        errors(expand_str(r#"deadline = "10s", drain_delay = "10s""#, "async fn main() {}")),
        [(
            "`drain_delay` (\"10s\") must be shorter than `deadline` (\"10s\") in `#[graceful::main]`: \
             the drain delay counts against the deadline; lower `drain_delay` or raise `deadline`"
                .to_owned(),
            "\"10s\"".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str(r#"drain_delay = "1m""#, "async fn main() {}")),
        ["`drain_delay` (\"1m\") must be shorter than the default `deadline` of \"30s\" in `#[graceful::main]`: \
          the drain delay counts against the deadline; lower `drain_delay` or set a longer `deadline`"]
    );
    assert!(expand_str(
        r#"drain_delay = "1m", deadline = "2m""#,
        "async fn main() {}"
    )
    .is_ok());
    assert!(expand_str(r#"drain_delay = "29s""#, "async fn main() {}").is_ok());
    // A deadline that does not parse gets its own error, and no comparison.
    assert_eq!(
        messages(expand_str(
            r#"drain_delay = "1m", deadline = "x""#,
            "async fn main() {}"
        ))
        .len(),
        1
    );
    assert_eq!(
        messages(expand_str(
            r#"drain_delay = "1m", deadline"#,
            "async fn main() {}"
        ))
        .len(),
        1
    );
}

#[test]
fn signals() {
    let expected =
        "expected some of `SIGINT`, `SIGTERM`, `SIGHUP`, `SIGQUIT`, `SIGUSR1`, `SIGUSR2`, \
                    `ctrl_c`, `ctrl_break`, `ctrl_close`, `ctrl_shutdown`";
    assert_eq!(
        errors(expand_str(
            r#"signals = ["SIGTERM", "sigint", "TERM", "SIGKILL", "SIGWINCH", "SIGTERM", 15]"#,
            "async fn main() {}"
        )),
        [(
            "expected a string literal in `signals` of `#[graceful::main]`, like `signals = [\"SIGINT\", \"SIGTERM\"]`"
                .to_owned(),
            "15".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str(
            r#"signals = ["SIGTERM", "sigint", "TERM", "SIGKILL", "SIGWINCH", "SIGTERM"]"#,
            "async fn main() {}"
        )),
        [
            (
                format!("unknown signal \"sigint\" in `signals` of `#[graceful::main]`; did you mean \"SIGINT\"? {expected}"),
                "\"sigint\"".to_owned()
            ),
            (
                format!("unknown signal \"TERM\" in `signals` of `#[graceful::main]`; did you mean \"SIGTERM\"? {expected}"),
                "\"TERM\"".to_owned()
            ),
            (
                format!(
                    "`SIGKILL` cannot be caught by a process, so it cannot start a graceful shutdown; \
                     `signals` in `#[graceful::main]` {}",
                    expected.replace("expected", "expects")
                ),
                "\"SIGKILL\"".to_owned()
            ),
            (
                format!("unknown signal \"SIGWINCH\" in `signals` of `#[graceful::main]`; {expected}"),
                "\"SIGWINCH\"".to_owned()
            ),
            (
                "duplicate signal \"SIGTERM\" in `signals` of `#[graceful::main]`; list it once".to_owned(),
                "\"SIGTERM\"".to_owned()
            ),
        ]
    );
    assert_eq!(
        messages(expand_str("signals = []", "async fn main() {}")),
        [
            "`signals` in `#[graceful::main]` cannot be empty; list at least one, like \
          `signals = [\"SIGINT\", \"SIGTERM\"]`, or leave `signals` out for the default"
        ]
    );
    assert_eq!(
        messages(expand_str(r#"signals = "SIGTERM""#, "async fn main() {}")),
        ["expected a list of strings for `signals` in `#[graceful::main]`; write `signals = [\"SIGTERM\"]`"]
    );
}

#[test]
fn on_task_panic_takes_shutdown_or_continue() {
    let expanded = expand_str(r#"on_task_panic = "shutdown""#, "async fn main() {}").unwrap();
    assert!(text(&expanded)
        .contains(". on_task_panic (:: graceful :: __private :: TaskPanic :: Shutdown)"));
    let expected_values = "expected \"shutdown\" (the default: a panicking task stops the \
         program, exit code 101) or \"continue\" (the program goes on without the task)";
    assert_eq!(
        errors(expand_str(
            r#"on_task_panic = "ignore""#,
            "async fn main() {}"
        )),
        [(
            format!(
                "unknown value \"ignore\" for `on_task_panic` in `#[graceful::main]`; did you mean \
                 \"continue\"? {expected_values}"
            ),
            "\"ignore\"".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str(
            r#"on_task_panic = "shutdwn""#,
            "async fn main() {}"
        )),
        [format!(
            "unknown value \"shutdwn\" for `on_task_panic` in `#[graceful::main]`; did you mean \
             \"shutdown\"? {expected_values}"
        )]
    );
    assert_eq!(
        messages(expand_str(r#"on_task_panic = "quietly""#, "async fn main() {}")),
        [format!(
            "unknown value \"quietly\" for `on_task_panic` in `#[graceful::main]`; {expected_values}"
        )]
    );
    assert_eq!(
        errors(expand_str("on_task_panic = continue", "async fn main() {}")),
        [(
            "expected a string literal for `on_task_panic` in `#[graceful::main]`, like \
             `on_task_panic = \"continue\"`"
                .to_owned(),
            "continue".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str(r#"on_panic = "continue""#, "async fn main() {}"))[0]
            .split(';')
            .nth(1),
        Some(
            " did you mean `on_task_panic`? expected one of `deadline`, `drain_delay`, `signals`, \
               `flavor`, `worker_threads`, `tasks_order`, `on_task_panic`, `upgrade`, `crate`"
        )
    );
}

#[test]
fn flavor_and_worker_threads() {
    assert_eq!(
        errors(expand_str(r#"flavor = "current_thred""#, "async fn main() {}")),
        [(
            "unknown flavor \"current_thred\" in `#[graceful::main]`; did you mean \"current_thread\"? \
             expected \"multi_thread\" (the default) or \"current_thread\""
                .to_owned(),
            "\"current_thred\"".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str(r#"flavor = "current_thread", worker_threads = 2"#, "async fn main() {}")),
        [(
            "`worker_threads` cannot be used with `flavor = \"current_thread\"` in `#[graceful::main]`: \
             that runtime has exactly one thread; remove `worker_threads` or use `flavor = \"multi_thread\"`"
                .to_owned(),
            "worker_threads".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str("worker_threads = 0", "async fn main() {}")),
        [(
            "`worker_threads` in `#[graceful::main]` must be at least 1".to_owned(),
            "0".to_owned()
        )]
    );
    assert_eq!(
        error_spans(expand_str("worker_threads = -1", "async fn main() {}")),
        ["-1"]
    );
    for too_many in [
        "99999999999999999999999999999999999999",
        "99999999999999999999999999999999999999999",
    ] {
        assert_eq!(
            errors(expand_str(
                &format!("worker_threads = {too_many}"),
                "async fn main() {}"
            )),
            [(
                "`worker_threads` in `#[graceful::main]` is out of range for `usize`".to_owned(),
                too_many.to_owned()
            )]
        );
    }
    assert!(expand_str(
        r#"flavor = "multi_thread", worker_threads = 1"#,
        "async fn main() {}"
    )
    .is_ok());
}

#[test]
fn worker_threads_with_current_thread_is_one_error_whatever_its_value() {
    for value in ["0", "-1", "\"4\""] {
        assert_eq!(
            error_spans(expand_str(
                &format!(r#"flavor = "current_thread", worker_threads = {value}"#),
                "async fn main() {}"
            )),
            ["worker_threads"],
            "{value}"
        );
    }
}

#[test]
fn a_second_entry_point_or_a_hook_on_main_is_refused_at_its_attribute() {
    assert_eq!(
        errors(expand_str(
            "",
            "#[graceful::main(deadline = \"5s\")] async fn main() {}"
        )),
        [(
            "`#[graceful::main]` is applied twice to this function; remove one".to_owned(),
            "#[graceful::main(deadline = \"5s\")]".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str("", "#[tokio::main(flavor = \"current_thread\")] async fn main() {}")),
        [(
            "`#[graceful::main]` builds the tokio runtime itself and cannot be combined with `#[tokio::main]`; \
             remove `#[tokio::main]` (`#[graceful::main]` takes `flavor` and `worker_threads`)"
                .to_owned(),
            "#[tokio::main(flavor = \"current_thread\")]".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str("", "#[doc = \"Docs.\"] #[graceful::teardown(order = 1)] async fn main() {}")),
        [(
            "`#[graceful::teardown]` cannot be applied to the function of `#[graceful::main]`: the hooks run \
             when that function has ended; put the cleanup in a function of its own"
                .to_owned(),
            "#[graceful::teardown(order = 1)]".to_owned()
        )]
    );
    // Under a renamed runtime, its attributes are known by the `crate` path.
    assert_eq!(
        error_spans(expand_str(
            r#"crate = "shutdown""#,
            "#[shutdown::teardown(order = 1, crate = \"shutdown\")] async fn main() {}"
        )),
        ["#[shutdown::teardown(order = 1, crate = \"shutdown\")]"]
    );
    // Attributes of other kinds are kept on the function, as before.
    assert!(expand_str(
        "",
        "#[allow(unused)] #[cfg(all())] #[tracing::instrument] async fn main() {}"
    )
    .is_ok());
}

#[test]
fn misuse_leaves_stacked_entry_points_out_of_the_stand_in() {
    let out = main(
        TokenStream::new(),
        tokens("#[allow(unused)] #[tokio::main] #[graceful::main] async fn main() {}"),
    );
    let text = text(&out);
    assert!(text.starts_with("# [allow (unused)] fn main ()"), "{text}");
    assert!(!text.contains("# [tokio :: main]"), "{text}");
    assert!(!text.contains("# [graceful :: main]"), "{text}");
}

#[test]
fn a_function_already_expanded_by_tokio_main_is_not_told_to_add_async() {
    // What `#[tokio::main]` written above `#[graceful::main]` hands on to it.
    let expanded_by_tokio = r#"fn main() {
        let body = async { serve().await };
        #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
        {
            return tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("Failed building the Runtime")
                .block_on(body);
        }
    }"#;
    assert_eq!(
        errors(expand_str("", expanded_by_tokio)),
        [(
            "`#[graceful::main]` needs an `async fn`, and this one is a plain `fn` that runs a runtime \
             itself with `block_on`; if an attribute above `#[graceful::main]`, like `#[tokio::main]`, \
             made it so, remove that attribute: `#[graceful::main]` builds the runtime. Otherwise write \
             `async fn main()` and `.await` instead of `block_on`"
                .to_owned(),
            "fn".to_owned()
        )]
    );
}

#[test]
fn signature_problems_each_on_their_token() {
    assert_eq!(
        errors(expand_str("", "fn main() {}")),
        [(
            "`#[graceful::main]` needs an `async fn`; add `async`: `async fn main()`".to_owned(),
            "fn".to_owned()
        )]
    );
    assert_eq!(
        error_spans(expand_str(
            "",
            "const unsafe extern \"C\" fn main<T>(a: T, b: u8) where T: Copy {}"
        )),
        [
            "fn",
            "const",
            "unsafe",
            "extern \"C\"",
            "<T>",
            "where T: Copy",
            "a: T, b: u8"
        ]
    );
    assert_eq!(
        errors(expand_str("", "async fn run(&self, port: u16) {}")),
        [(
            "`#[graceful::main]` cannot be applied to a method; put it on the program's `async fn main()` \
             and call the method from there"
                .to_owned(),
            "&self".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str("", "async fn main(args: Vec<String>) {}")),
        [
            "`#[graceful::main]` takes a function without parameters; remove them \
          (read command-line arguments with `std::env::args()`)"
        ]
    );
    assert_eq!(
        errors(expand_str("", "async unsafe fn main() {}")),
        [(
            "`#[graceful::main]` cannot be applied to an `unsafe fn`; remove `unsafe` and use an \
             `unsafe` block inside"
                .to_owned(),
            "unsafe".to_owned()
        )]
    );
}

#[test]
fn a_colon_instead_of_equals_is_one_error() {
    assert_eq!(
        errors(expand_str(r#"deadline: "25s""#, "async fn main() {}")),
        [(
            "`deadline` in `#[graceful::main]` takes `=`, not `:`; write `deadline = \"30s\"`"
                .to_owned(),
            "deadline: \"25s\"".to_owned()
        )]
    );
}

#[test]
fn argument_and_signature_problems_are_reported_together() {
    assert_eq!(
        error_spans(expand_str(
            r#"deadline = "0s", deadline = "1s""#,
            "fn main() {}"
        )),
        ["deadline", "\"0s\"", "fn"]
    );
    // Broken syntax in the arguments does not hide the signature's problems.
    assert_eq!(
        messages(expand_str(
            r#"deadline = "1s" flavor = "current_thread""#,
            "fn main() {}"
        )),
        [
            "expected `,`",
            "`#[graceful::main]` needs an `async fn`; add `async`: `async fn main()`"
        ]
    );
}

#[test]
fn misuse_expands_to_a_plain_main_and_the_errors() {
    let out = main(tokens("deadline = 5"), tokens("fn main() { let x = 1; }"));
    let expected = quote! {
        fn main() {
            #[allow(unused, clippy::unused_async)]
            async fn main() { let x = 1; }
        }
        ::core::compile_error! {
            "expected a string literal for `deadline` in `#[graceful::main]`, like `deadline = \"30s\"`"
        }
        ::core::compile_error! {
            "`#[graceful::main]` needs an `async fn`; add `async`: `async fn main()`"
        }
    };
    assert_eq!(text(&out), text(&expected));
}

#[test]
fn misuse_on_a_method_keeps_the_method_as_written() {
    // Its body may use `self`, which a stand-in without `self` would reject.
    let out = main(
        TokenStream::new(),
        tokens("#[allow(unused)] async fn run(&self) { self.port }"),
    );
    let expected = quote! {
        #[allow(unused)]
        async fn run(&self) { self.port }
        ::core::compile_error! {
            "`#[graceful::main]` cannot be applied to a method; put it on the program's `async fn main()` and call the method from there"
        }
    };
    assert_eq!(text(&out), text(&expected));
}

#[test]
fn misuse_on_something_else_keeps_the_item() {
    let out = main(TokenStream::new(), tokens("struct S;"));
    let expected = quote! {
        struct S;
        ::core::compile_error! {
            "`#[graceful::main]` can only be applied to an `async fn`, like `#[graceful::main] async fn main() { ... }`"
        }
    };
    assert_eq!(text(&out), text(&expected));
}

#[test]
fn never_panics_on_odd_input() {
    let args = [
        "",
        "deadline",
        "deadline =",
        "deadline = \"\"",
        "deadline = \"99999999999999999999999h\"",
        "= 1",
        "1",
        "\"x\"",
        "crate = \"\"",
        "crate = \"a b\"",
        "crate = \"::\"",
        "signals = [[]]",
        "signals = [\"SIGINT\",]",
        "worker_threads = 99999999999999999999999999999999999999999",
        "tasks_order = -",
        "flavor = \"\"",
        "a::b::c(d, e = f)",
        "deadline(\"1s\")",
        ",",
    ];
    let items = [
        "async fn main() {}",
        "fn main() {}",
        "struct S;",
        "",
        "async fn main(self) {}",
        "impl X {}",
        "async fn main(...) {}",
    ];
    test_util::never_panics(main, &args, &items);
}

#[test]
fn upgrade_alone_is_sighup_and_a_value_picks_another_signal() {
    let sighup = text(&expand_str("upgrade", "async fn main() {}").unwrap());
    assert!(
        sighup.contains(". upgrade (:: graceful :: __private :: Signal :: Hangup)"),
        "{sighup}"
    );
    let usr2 = text(&expand_str(r#"upgrade = "SIGUSR2""#, "async fn main() {}").unwrap());
    assert!(
        usr2.contains(". upgrade (:: graceful :: __private :: Signal :: User2)"),
        "{usr2}"
    );
}

#[test]
fn an_upgrade_signal_is_not_checked_against_signals_that_have_an_error_of_their_own() {
    // Only the typo: SIGTERM is not among the signals given, whatever the defaults.
    let got = messages(expand_str(
        r#"signals = ["SIGHUP", "SIGBOGUS"], upgrade = "SIGTERM""#,
        "async fn main() {}",
    ));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("unknown signal \"SIGBOGUS\""), "{got:?}");
}

#[test]
fn an_upgrade_signal_that_also_stops_or_does_not_exist_is_refused_on_its_value() {
    assert_eq!(
        errors(expand_str(r#"upgrade = "SIGTERM""#, "async fn main() {}")),
        [(
            "\"SIGTERM\" cannot start both the shutdown and an upgrade in `#[graceful::main]`: it \
             is one of `signals` (by default); pick another upgrade signal, like \
             `upgrade = \"SIGUSR2\"`"
                .to_owned(),
            "\"SIGTERM\"".to_owned()
        )]
    );
    assert_eq!(
        errors(expand_str(
            r#"signals = ["SIGTERM", "SIGHUP"], upgrade"#,
            "async fn main() {}"
        )),
        [(
            "\"SIGHUP\" cannot start both the shutdown and an upgrade in `#[graceful::main]`: it \
             is one of `signals`; pick another upgrade signal, like `upgrade = \"SIGUSR2\"`"
                .to_owned(),
            "upgrade".to_owned()
        )]
    );
    assert_eq!(
        messages(expand_str(r#"upgrade = "SIGUSR3""#, "async fn main() {}")),
        [
            "unknown upgrade signal \"SIGUSR3\" in `#[graceful::main]`; did you mean \"SIGUSR1\"? \
          expected one of `SIGHUP`, `SIGUSR1`, `SIGUSR2`, `SIGQUIT`, or `upgrade` alone for \
          \"SIGHUP\""
        ]
    );
    assert_eq!(
        messages(expand_str(r#"upgrade = "SIGKILL""#, "async fn main() {}")),
        ["unknown upgrade signal \"SIGKILL\" in `#[graceful::main]`; `SIGKILL` cannot be caught \
          by a process; expected one of `SIGHUP`, `SIGUSR1`, `SIGUSR2`, `SIGQUIT`, or `upgrade` \
          alone for \"SIGHUP\""]
    );
    assert_eq!(
        messages(expand_str("upgrade = 3", "async fn main() {}")),
        ["expected a string literal for `upgrade` in `#[graceful::main]`, like `upgrade = \"SIGUSR2\"`"]
    );
    assert_eq!(
        messages(expand_str(r#"upgrade = "ctrl_break""#, "async fn main() {}")),
        ["unknown upgrade signal \"ctrl_break\" in `#[graceful::main]`; upgrade in place exists \
          on Unix only; expected one of `SIGHUP`, `SIGUSR1`, `SIGUSR2`, `SIGQUIT`, or `upgrade` \
          alone for \"SIGHUP\""]
    );
}
