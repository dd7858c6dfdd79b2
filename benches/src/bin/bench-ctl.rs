//! `graceful-ctl`, as the upgrade benchmark runs it: the same entry point as the installed
//! command.

fn main() -> std::process::ExitCode {
    graceful_ctl::main()
}
