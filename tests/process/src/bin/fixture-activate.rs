//! Runs the program named by its first argument in its own place (the same process id),
//! with `LISTEN_PID` set to that id: what systemd does for a socket-activated service,
//! which a test cannot do itself, since it knows a child's id only after the fork. A
//! `LISTEN_PID` already set is kept (a test of one that is not the service's).

#[cfg(unix)]
fn main() {
    use std::os::unix::process::CommandExt;

    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: fixture-activate PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let mut cmd = std::process::Command::new(&program);
    cmd.args(args);
    if std::env::var_os("LISTEN_PID").is_none() {
        cmd.env("LISTEN_PID", std::process::id().to_string());
    }
    let error = cmd.exec();
    eprintln!(
        "fixture-activate: cannot run {}: {error}",
        program.to_string_lossy()
    );
    std::process::exit(2);
}

#[cfg(not(unix))]
fn main() {
    eprintln!("fixture-activate: socket activation exists only on Unix");
    std::process::exit(2);
}
