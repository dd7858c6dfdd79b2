//! `#[graceful::main]`: its arguments, their validation, and the expansion.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, ReturnType};

use crate::args::{self, read, Key, RawArg, RawArgs, Spec};
use crate::errors::{backticked, suggest, Errors};
use crate::shared::limits::{DEFAULT_DEADLINE, LONGEST};
use crate::shared::signals::SIGNALS;
use crate::valid::{self, Stacked};
use crate::{fallback, tokens};

const ATTR: &str = "#[graceful::main]";

pub(crate) const SPEC: Spec = Spec {
    attr: ATTR,
    keys: &[
        Key::value("deadline", "deadline = \"30s\""),
        Key::value("drain_delay", "drain_delay = \"5s\""),
        Key::value("signals", "signals = [\"SIGINT\", \"SIGTERM\"]"),
        Key::value("flavor", "flavor = \"current_thread\""),
        Key::value("worker_threads", "worker_threads = 4"),
        Key::value("tasks_order", "tasks_order = 0"),
        Key::value("crate", "crate = \"::graceful\""),
    ],
    hints: &[
        ("timeout", "deadline"),
        ("grace_period", "deadline"),
        ("shutdown_timeout", "deadline"),
        ("drain", "drain_delay"),
        ("current_thread", "flavor = \"current_thread\""),
        ("multi_thread", "flavor = \"multi_thread\""),
        ("threads", "worker_threads"),
        ("workers", "worker_threads"),
        ("order", "tasks_order"),
    ],
    unnamed_integer: None,
};

const FLAVORS: &[&str] = &["multi_thread", "current_thread"];

/// The validated arguments; `None` means "not given, the runtime's default".
#[derive(Default)]
pub(crate) struct Config {
    deadline: Option<Duration>,
    drain_delay: Option<Duration>,
    /// `Signal` variant names.
    signals: Option<Vec<&'static str>>,
    current_thread: bool,
    worker_threads: Option<usize>,
    tasks_order: Option<i32>,
    crate_path: Option<syn::Path>,
}

/// The entry point: never fails, always returns the item (or a stand-in) plus any errors.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                format!("`{ATTR}` can only be applied to an `async fn`, like `{ATTR} async fn main() {{ ... }}`"),
            );
            return fallback::with_error(item, &error);
        }
    };
    match expand(args, &function) {
        Ok(tokens) => tokens,
        Err(error) => fallback::with_error(fallback::main(&function), &error),
    }
}

/// Parses and validates everything, reporting all independent problems together, then
/// expands.
pub(crate) fn expand(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let config = match args::parse(&SPEC, args, &mut errors) {
        Ok(raw) => config(&raw, &mut errors),
        Err(error) => {
            errors.push(error);
            Config::default()
        }
    };
    check_signature(function, &mut errors);
    valid::check_stacked(
        &function.attrs,
        config.crate_path.as_ref(),
        &mut errors,
        stacked,
    );
    errors.finish()?;
    Ok(generate(&config, function))
}

/// Another attribute on the function that would make a second entry point, or a hook that
/// runs while `main` shuts down.
fn stacked(kind: Stacked, written: &str) -> String {
    match kind {
        Stacked::Main => format!("`{ATTR}` is applied twice to this function; remove one"),
        Stacked::OtherMain => format!(
            "`{ATTR}` builds the tokio runtime itself and cannot be combined with `#[{written}]`; \
             remove `#[{written}]` (`{ATTR}` takes `flavor` and `worker_threads`)"
        ),
        Stacked::Teardown => format!(
            "`#[graceful::teardown]` cannot be applied to the function of `{ATTR}`: the hooks run \
             when that function has ended; put the cleanup in a function of its own"
        ),
    }
}

/// Stage 2: typed values and the checks that involve several arguments.
fn config(raw: &RawArgs, errors: &mut Errors) -> Config {
    let deadline = raw.get("deadline").and_then(|arg| errors.ok(deadline(arg)));
    let drain_delay = raw
        .get("drain_delay")
        .and_then(|arg| errors.ok(read::duration(&SPEC, arg)));
    let signals = raw.get("signals").and_then(|arg| errors.ok(signals(arg)));
    let current_thread = raw
        .get("flavor")
        .and_then(|arg| errors.ok(current_thread(arg)));
    // With one thread, any `worker_threads` is wrong, whatever its value: one error below.
    let worker_threads = raw
        .get("worker_threads")
        .filter(|_| current_thread != Some(true))
        .and_then(|arg| errors.ok(worker_threads(arg)));
    let tasks_order = raw
        .get("tasks_order")
        .and_then(|arg| errors.ok(read::integer::<i32>(&SPEC, arg, "i32")));
    let crate_path = raw
        .get("crate")
        .and_then(|arg| errors.ok(read::crate_path(&SPEC, arg)));

    if let Some((drain, drain_lit)) = &drain_delay {
        check_drain_delay(*drain, drain_lit, raw, deadline.as_ref(), errors);
    }
    if current_thread == Some(true) {
        if let Some(arg) = raw.get("worker_threads") {
            errors.push(syn::Error::new(
                arg.key_span,
                format!(
                    "`worker_threads` cannot be used with `flavor = \"current_thread\"` in `{ATTR}`: \
                     that runtime has exactly one thread; remove `worker_threads` or use `flavor = \"multi_thread\"`"
                ),
            ));
        }
    }

    Config {
        deadline: deadline.map(|(duration, _)| duration),
        drain_delay: drain_delay.map(|(duration, _)| duration),
        signals,
        current_thread: current_thread == Some(true),
        worker_threads,
        tasks_order,
        crate_path,
    }
}

/// More than zero, at most a year.
fn deadline(arg: &RawArg) -> syn::Result<(Duration, LitStr)> {
    let (deadline, lit) = read::positive_duration(&SPEC, arg)?;
    if deadline > LONGEST {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`deadline` ({:?}) in `{ATTR}` is longer than a year: no orchestrator waits that long; \
                 give the grace period the process really gets, like `deadline = \"30s\"`",
                lit.value()
            ),
        ));
    }
    Ok((deadline, lit))
}

/// The drain delay counts against the deadline, so it must leave some of it for teardown.
fn check_drain_delay(
    drain: Duration,
    drain_lit: &LitStr,
    raw: &RawArgs,
    deadline: Option<&(Duration, LitStr)>,
    errors: &mut Errors,
) {
    let message = match deadline {
        Some((deadline, deadline_lit)) if drain >= *deadline => format!(
            "`drain_delay` ({:?}) must be shorter than `deadline` ({:?}) in `{ATTR}`: \
             the drain delay counts against the deadline; lower `drain_delay` or raise `deadline`",
            drain_lit.value(),
            deadline_lit.value(),
        ),
        // A `deadline` that is wrong has its own error; compare with nothing.
        None if !raw.written("deadline") && drain >= DEFAULT_DEADLINE => format!(
            "`drain_delay` ({:?}) must be shorter than the default `deadline` of \"{DEFAULT_DEADLINE:?}\" in `{ATTR}`: \
             the drain delay counts against the deadline; lower `drain_delay` or set a longer `deadline`",
            drain_lit.value(),
        ),
        _ => return,
    };
    errors.push(syn::Error::new(drain_lit.span(), message));
}

/// `signals = ["SIGINT", "SIGTERM"]` to `Signal` variant names.
fn signals(arg: &RawArg) -> syn::Result<Vec<&'static str>> {
    let names: Vec<&str> = SIGNALS.iter().map(|(name, _)| *name).collect();
    let mut errors = Errors::default();
    let mut variants: Vec<&'static str> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for lit in read::string_list(&SPEC, arg)? {
        let written = lit.value();
        if seen.contains(&written) {
            errors.push(syn::Error::new(
                lit.span(),
                format!("duplicate signal {written:?} in `signals` of `{ATTR}`; list it once"),
            ));
            continue;
        }
        seen.push(written.clone());
        match SIGNALS.iter().find(|(name, _)| *name == written) {
            Some((_, variant)) => variants.push(variant),
            None => errors.push(syn::Error::new(
                lit.span(),
                unknown_signal(&written, &names),
            )),
        }
    }
    errors.finish()?;
    Ok(variants)
}

fn unknown_signal(written: &str, names: &[&str]) -> String {
    let expected = backticked(names);
    if matches!(written, "SIGKILL" | "SIGSTOP") {
        return format!(
            "`{written}` cannot be caught by a process, so it cannot start a graceful shutdown; \
             `signals` in `{ATTR}` expects some of {expected}"
        );
    }
    let with_prefix = format!("SIG{}", written.to_ascii_uppercase());
    let meant = suggest::nearest(written, names)
        .or_else(|| names.iter().copied().find(|name| **name == with_prefix));
    let did_you_mean = suggest::did_you_mean(meant.map(|name| format!("{name:?}")));
    format!("unknown signal {written:?} in `signals` of `{ATTR}`{did_you_mean}expected some of {expected}")
}

/// `flavor = "current_thread"` is `Some(true)`.
fn current_thread(arg: &RawArg) -> syn::Result<bool> {
    let lit = read::string(&SPEC, arg)?;
    match lit.value().as_str() {
        "current_thread" => Ok(true),
        "multi_thread" => Ok(false),
        other => {
            let did_you_mean = suggest::did_you_mean(
                suggest::nearest(other, FLAVORS).map(|name| format!("{name:?}")),
            );
            Err(syn::Error::new(
                lit.span(),
                format!(
                    "unknown flavor {other:?} in `{ATTR}`{did_you_mean}expected \"multi_thread\" (the default) or \"current_thread\""
                ),
            ))
        }
    }
}

fn worker_threads(arg: &RawArg) -> syn::Result<usize> {
    let count = read::integer::<i128>(&SPEC, arg, "usize")?;
    let value = arg.value()?;
    let error = |message: &str| {
        syn::Error::new_spanned(value, format!("`worker_threads` in `{ATTR}` {message}"))
    };
    if count < 1 {
        return Err(error("must be at least 1"));
    }
    usize::try_from(count).map_err(|_| error("is out of range for `usize`"))
}

/// Stage 2 for the item: an `async fn` with no parameters and nothing unusual.
fn check_signature(function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        // An entry point written above this attribute (`#[tokio::main]`) expands first, and
        // leaves a plain `fn` that runs the body with `block_on`: "add `async`" would puzzle
        // a user who wrote `async fn`.
        let message = if tokens::mentions(function.block.to_token_stream(), "block_on") {
            format!(
                "`{ATTR}` needs an `async fn`, and this one is a plain `fn` that runs a runtime \
                 itself with `block_on`; if an attribute above `{ATTR}`, like `#[tokio::main]`, \
                 made it so, remove that attribute: `{ATTR}` builds the runtime. Otherwise write \
                 `async fn {}()` and `.await` instead of `block_on`",
                sig.ident
            )
        } else {
            format!(
                "`{ATTR}` needs an `async fn`; add `async`: `async fn {}()`",
                sig.ident
            )
        };
        errors.push(syn::Error::new_spanned(sig.fn_token, message));
    }
    valid::plain_fn(ATTR, sig, errors);
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.push(syn::Error::new_spanned(
            receiver,
            format!(
                "`{ATTR}` cannot be applied to a method; put it on the program's `async fn main()` \
                 and call the method from there"
            ),
        ));
    } else if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!(
                "`{ATTR}` takes a function without parameters; remove them \
                 (read command-line arguments with `std::env::args()`)"
            ),
        ));
    }
}

/// Stage 3: the expansion, as laid down in the runtime's `__private` contract.
fn generate(config: &Config, function: &ItemFn) -> TokenStream {
    let p = tokens::runtime_path(config.crate_path.as_ref());
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = function;
    let name = &sig.ident;
    let output = &sig.output;

    let mut builder = quote!(#p::__private::Config::new());
    if let Some(deadline) = config.deadline {
        let deadline = tokens::duration(deadline);
        builder.extend(quote!(.deadline(#deadline)));
    }
    if let Some(drain_delay) = config.drain_delay {
        let drain_delay = tokens::duration(drain_delay);
        builder.extend(quote!(.drain_delay(#drain_delay)));
    }
    if let Some(signals) = &config.signals {
        let variants = signals
            .iter()
            .map(|variant| syn::Ident::new(variant, Span::call_site()));
        builder.extend(quote!(.signals(&[#(#p::__private::Signal::#variants),*])));
    }
    if config.current_thread {
        builder.extend(quote!(.current_thread()));
    }
    if let Some(worker_threads) = config.worker_threads {
        let worker_threads = tokens::int(worker_threads as u128);
        builder.extend(quote!(.worker_threads(#worker_threads)));
    }
    if let Some(tasks_order) = config.tasks_order {
        let tasks_order = tokens::i32(tasks_order);
        builder.extend(quote!(.tasks_order(#tasks_order)));
    }

    // `run` requires the body's output to be a `MainOutput`; locate the call at the return
    // type so that a wrong one is reported there.
    let output_span = tokens::at(match output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    });
    let mut callee = name.clone();
    callee.set_span(output_span);
    let call = quote_spanned!(output_span=> #callee());

    quote! {
        #(#attrs)*
        #vis fn #name() {
            // The user's function, unchanged but for its attributes and visibility.
            #[allow(clippy::unused_async)]
            async fn #name() #output #block
            #p::__private::run(#builder, #call)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{error_spans, errors, item, text, tokens};

    fn expand_str(args: &str, function: &str) -> syn::Result<TokenStream> {
        expand(tokens(args), &item(function))
    }

    fn messages(args: &str, function: &str) -> Vec<String> {
        errors(expand_str(args, function))
            .into_iter()
            .map(|(message, _)| message)
            .collect()
    }

    #[test]
    fn expands_defaults_to_a_bare_config() {
        let expanded = expand_str("", "async fn main() { body().await }").unwrap();
        let expected = quote! {
            fn main() {
                #[allow(clippy::unused_async)]
                async fn main() { body().await }
                ::graceful::__private::run(::graceful::__private::Config::new(), main())
            }
        };
        assert_eq!(text(&expanded), text(&expected));
    }

    #[test]
    fn expands_every_argument_in_order() {
        let expanded = expand_str(
            r#"tasks_order = -3, worker_threads = 4, signals = ["SIGTERM", "SIGHUP", "ctrl_c"],
               drain_delay = "1500ms", deadline = "1m30s", crate = "my::graceful""#,
            "/// Docs.\n#[allow(unused)]\npub async fn main() -> Result<(), Error> { Ok(()) }",
        )
        .unwrap();
        let expected = quote! {
            #[doc = " Docs."]
            #[allow(unused)]
            pub fn main() {
                #[allow(clippy::unused_async)]
                async fn main() -> Result<(), Error> { Ok(()) }
                my::graceful::__private::run(
                    my::graceful::__private::Config::new()
                        .deadline(::core::time::Duration::new(90, 0))
                        .drain_delay(::core::time::Duration::new(1, 500_000_000))
                        .signals(&[
                            my::graceful::__private::Signal::Terminate,
                            my::graceful::__private::Signal::Hangup,
                            my::graceful::__private::Signal::CtrlC
                        ])
                        .worker_threads(4)
                        .tasks_order(-3),
                    main()
                )
            }
        };
        assert_eq!(text(&expanded), text(&expected));
    }

    #[test]
    fn current_thread_and_multi_thread() {
        let expanded = expand_str(r#"flavor = "current_thread""#, "async fn main() {}").unwrap();
        assert!(text(&expanded).contains(". current_thread ()"));
        let expanded = expand_str(r#"flavor = "multi_thread""#, "async fn main() {}").unwrap();
        assert!(!text(&expanded).contains("current_thread"));
    }

    #[test]
    fn keeps_any_function_name() {
        let expanded = expand_str("", "async fn start() {}").unwrap();
        let text = text(&expanded);
        assert!(text.starts_with("fn start ()"), "{text}");
        assert!(text.contains("async fn start ()"), "{text}");
        assert!(text.ends_with(", start ()) }"), "{text}");
    }

    #[test]
    fn unknown_argument_suggests_the_nearest() {
        assert_eq!(
            errors(expand_str(r#"dedline = "30s""#, "async fn main() {}")),
            [(
                "unknown argument `dedline` in `#[graceful::main]`; did you mean `deadline`? expected one of \
                 `deadline`, `drain_delay`, `signals`, `flavor`, `worker_threads`, `tasks_order`, `crate`"
                    .to_owned(),
                "dedline".to_owned()
            )]
        );
        assert_eq!(
            messages("current_thread", "async fn main() {}"),
            ["unknown argument `current_thread` in `#[graceful::main]`; did you mean `flavor = \"current_thread\"`? \
              expected one of `deadline`, `drain_delay`, `signals`, `flavor`, `worker_threads`, `tasks_order`, `crate`"]
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
            messages(r#"deadline = "soon", drain_delay = "3 parsecs""#, "async fn main() {}"),
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
            messages(r#"drain_delay = "1m""#, "async fn main() {}"),
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
            messages(
                r#"drain_delay = "1m", deadline = "x""#,
                "async fn main() {}"
            )
            .len(),
            1
        );
        assert_eq!(
            messages(r#"drain_delay = "1m", deadline"#, "async fn main() {}").len(),
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
            messages("signals = []", "async fn main() {}"),
            [
                "`signals` in `#[graceful::main]` cannot be empty; list at least one, like \
              `signals = [\"SIGINT\", \"SIGTERM\"]`, or leave `signals` out for the default"
            ]
        );
        assert_eq!(
            messages(r#"signals = "SIGTERM""#, "async fn main() {}"),
            ["expected a list of strings for `signals` in `#[graceful::main]`; write `signals = [\"SIGTERM\"]`"]
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
                "`#[graceful::main]` needs an `async fn`; add `async`: `async fn main()`"
                    .to_owned(),
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
            messages("", "async fn main(args: Vec<String>) {}"),
            [
                "`#[graceful::main]` takes a function without parameters; remove them \
              (read command-line arguments with `std::env::args()`)"
            ]
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
            messages(
                r#"deadline = "1s" flavor = "current_thread""#,
                "fn main() {}"
            ),
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
        for args in args {
            for item in items {
                let out = main(tokens(args), tokens(item));
                assert!(!out.is_empty() || item.is_empty(), "{args} / {item}");
            }
        }
    }
}
