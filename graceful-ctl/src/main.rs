//! `graceful-ctl`: upgrade a running graceful service in place and learn the outcome; see
//! the library's documentation for the commands and exit codes.

fn main() -> std::process::ExitCode {
    graceful_ctl::main()
}
