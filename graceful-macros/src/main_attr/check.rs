//! Stage 2 of `#[graceful::main]`: the keys it accepts, the typed [`Config`] read from the raw
//! arguments, and the checks of the function it is applied to.
//!
//! Each value is checked on its own tokens, and the checks that involve several arguments
//! (a drain delay shorter than the deadline, no `worker_threads` with one thread) are made
//! here, once every value is read. A value that is wrong is left out, so that the others
//! are still checked and reported in the same compile.

use std::time::Duration;

use proc_macro2::Span;
use quote::ToTokens;
use syn::{FnArg, ItemFn, LitStr};

use crate::args::{read, Key, RawArg, RawArgs, Spec};
use crate::errors::{backticked, suggest, Errors};
use crate::shared::limits::{DEFAULT_DEADLINE, LONGEST};
use crate::shared::signals::SIGNALS;
use crate::tokens;
use crate::valid::{self, Stacked};

const ATTR: &str = "#[graceful::main]";

/// The keys `#[graceful::main]` accepts, next to [`config`], which reads each of them. The
/// pipeline in `mod.rs` parses with it; were it there, this file would import the module
/// that imports it.
pub(super) const SPEC: Spec = Spec {
    attr: ATTR,
    keys: &[
        Key::value("deadline", "deadline = \"30s\""),
        Key::value("drain_delay", "drain_delay = \"5s\""),
        Key::value("signals", "signals = [\"SIGINT\", \"SIGTERM\"]"),
        Key::value("flavor", "flavor = \"current_thread\""),
        Key::value("worker_threads", "worker_threads = 4"),
        Key::value("tasks_order", "tasks_order = 0"),
        Key::value("on_task_panic", "on_task_panic = \"continue\""),
        Key::flag_or_value("upgrade", "upgrade = \"SIGUSR2\""),
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
        ("on_panic", "on_task_panic"),
        ("panic", "on_task_panic"),
        ("task_panic", "on_task_panic"),
        ("reload", "upgrade"),
        ("hot_reload", "upgrade"),
        ("upgrade_signal", "upgrade"),
    ],
    unnamed_integer: None,
};

const FLAVORS: &[&str] = &["multi_thread", "current_thread"];

/// The values of `on_task_panic`, with the runtime's `TaskPanic` variant each stands for.
const ON_TASK_PANIC: &[(&str, &str)] = &[("shutdown", "Shutdown"), ("continue", "Continue")];

/// The validated arguments; `None` means "not given, the runtime's default".
#[derive(Default)]
pub(super) struct Config {
    pub(super) deadline: Option<Duration>,
    pub(super) drain_delay: Option<Duration>,
    /// `Signal` variant names.
    pub(super) signals: Option<Vec<&'static str>>,
    pub(super) current_thread: bool,
    pub(super) worker_threads: Option<usize>,
    pub(super) tasks_order: Option<i32>,
    /// The `TaskPanic` variant's name.
    pub(super) on_task_panic: Option<&'static str>,
    /// The `Signal` variant's name of the upgrade signal.
    pub(super) upgrade: Option<&'static str>,
    pub(super) crate_path: Option<syn::Path>,
}

/// The typed values, and the checks that involve several arguments.
pub(super) fn config(raw: &RawArgs, errors: &mut Errors) -> Config {
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
    let on_task_panic = raw
        .get("on_task_panic")
        .and_then(|arg| errors.ok(on_task_panic(arg)));
    // `signals` given but in error: which signals stop is unknown, and not checked against.
    let stopping = match (raw.get("signals"), signals.as_deref()) {
        (None, _) => Stopping::Default,
        (Some(_), Some(given)) => Stopping::Given(given),
        (Some(_), None) => Stopping::Unknown,
    };
    let upgrade = raw
        .get("upgrade")
        .and_then(|arg| errors.ok(upgrade(arg, stopping)));
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
                    "`worker_threads` cannot be used with `flavor = \"current_thread\"` in \
                     `{ATTR}`: that runtime has exactly one thread; remove `worker_threads` or use \
                     `flavor = \"multi_thread\"`"
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
        on_task_panic,
        upgrade,
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
            "`drain_delay` ({:?}) must be shorter than the default `deadline` of \
             \"{DEFAULT_DEADLINE:?}\" in `{ATTR}`: the drain delay counts against the deadline; \
             lower `drain_delay` or set a longer `deadline`",
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
                    "unknown flavor {other:?} in `{ATTR}`{did_you_mean}expected \"multi_thread\" \
                     (the default) or \"current_thread\""
                ),
            ))
        }
    }
}

/// `on_task_panic = "continue"` to the `TaskPanic` variant's name.
fn on_task_panic(arg: &RawArg) -> syn::Result<&'static str> {
    let lit = read::string(&SPEC, arg)?;
    let written = lit.value();
    if let Some((_, variant)) = ON_TASK_PANIC.iter().find(|(name, _)| *name == written) {
        return Ok(variant);
    }
    let names: Vec<&str> = ON_TASK_PANIC.iter().map(|(name, _)| *name).collect();
    // What other frameworks call the two behaviours.
    let meant = match written.to_ascii_lowercase().as_str() {
        "ignore" | "log" | "warn" | "keep_going" => Some("continue"),
        "stop" | "stophost" | "stop_host" | "exit" | "abort" | "fail" => Some("shutdown"),
        _ => suggest::nearest(&written, &names),
    };
    let did_you_mean = suggest::did_you_mean(meant.map(|name| format!("{name:?}")));
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown value {written:?} for `on_task_panic` in `{ATTR}`{did_you_mean}expected \
             \"shutdown\" (the default: a panicking task stops the program, exit code 101) or \
             \"continue\" (the program goes on without the task)"
        ),
    ))
}

/// The signals that start the shutdown, as far as an upgrade's signal must know them.
#[derive(Clone, Copy)]
enum Stopping<'a> {
    /// `signals = [...]`: these variants.
    Given(&'a [&'static str]),
    /// No `signals`: `SIGINT` and `SIGTERM`.
    Default,
    /// `signals` has an error of its own, reported already.
    Unknown,
}

/// The signal an upgrade in place starts at: `upgrade` alone is `SIGHUP` (systemd's reload
/// signal), `upgrade = "SIGUSR2"` another Unix signal, that none of `signals` (given, or
/// the defaults `SIGINT` and `SIGTERM`) takes already.
fn upgrade(arg: &RawArg, signals: Stopping<'_>) -> syn::Result<&'static str> {
    const UNIX: &[&str] = &[
        "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT", "SIGINT", "SIGTERM",
    ];
    let (name, span) = match &arg.value {
        None => ("SIGHUP".to_owned(), arg.key_span),
        Some(_) => {
            let lit = read::string(&SPEC, arg)?;
            (lit.value(), lit.span())
        }
    };
    let Some((_, variant)) = SIGNALS.iter().find(|(n, _)| *n == name && UNIX.contains(n)) else {
        let meant = suggest::nearest(&name, UNIX).or_else(|| {
            let with_prefix = format!("SIG{}", name.to_ascii_uppercase());
            UNIX.iter().copied().find(|n| **n == with_prefix)
        });
        let did_you_mean = suggest::did_you_mean(meant.map(|n| format!("{n:?}")));
        let why = if name.starts_with("ctrl_") {
            "upgrade in place exists on Unix only; ".to_owned()
        } else if matches!(name.as_str(), "SIGKILL" | "SIGSTOP") {
            format!("`{name}` cannot be caught by a process; ")
        } else {
            String::new()
        };
        return Err(syn::Error::new(
            span,
            format!(
                "unknown upgrade signal {name:?} in `{ATTR}`{did_you_mean}{why}expected one of {}, \
                 or `upgrade` alone for \"SIGHUP\"",
                backticked(&UNIX[..4])
            ),
        ));
    };
    let stops = match signals {
        Stopping::Given(signals) => signals.contains(variant),
        Stopping::Default => matches!(*variant, "Interrupt" | "Terminate"),
        Stopping::Unknown => false,
    };
    if stops {
        return Err(syn::Error::new(
            span,
            format!(
                "{name:?} cannot start both the shutdown and an upgrade in `{ATTR}`: it is one of \
                 `signals`{}; pick another upgrade signal, like `upgrade = \"SIGUSR2\"`",
                if matches!(signals, Stopping::Default) {
                    " (by default)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(variant)
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

/// The error for an item that is not a function at all.
pub(super) fn not_a_function() -> syn::Error {
    syn::Error::new(
        Span::call_site(),
        format!("`{ATTR}` can only be applied to an `async fn`, like `{ATTR} async fn main() {{ ... }}`"),
    )
}

/// The function: an `async fn` with no parameters and nothing unusual, and no second entry
/// point or hook on it.
pub(super) fn function(function: &ItemFn, crate_path: Option<&syn::Path>, errors: &mut Errors) {
    signature(function, errors);
    valid::check_stacked(&function.attrs, crate_path, errors, stacked);
}

fn signature(function: &ItemFn, errors: &mut Errors) {
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
