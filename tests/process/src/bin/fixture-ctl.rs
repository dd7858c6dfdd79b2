//! `graceful-ctl`, as the tests of the control socket run it (`tests/control.rs`): the
//! same entry point as the installed command.

fn main() -> std::process::ExitCode {
    graceful_ctl::main()
}
